/**
 * The layer contract check. Each layer's released contract is committed as
 * stacks/<layer>/contract.json, generated from its TypeScript interface in
 * stacks/shared/contracts.ts. The check fails when:
 *  - an interface drops, renames, retypes or loosens a key without a contractVersion bump;
 *  - the committed contract.json is out of date with the interface;
 *  - a consumer reads (through LayerReference) a key the producer's committed contract lacks;
 *  - a layer's real exports (from the offline plan) do not match its contract.
 */
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { LAYERS, LayerName } from "../../stacks/shared/tags";
import { REPO_ROOT } from "../plan/mock-engine";

export type Schema =
  | { type: "string" | "number" | "boolean" | "unknown"; nullable?: boolean; optional?: boolean }
  | { type: "array"; items: Schema; nullable?: boolean; optional?: boolean }
  | { type: "record"; values: Schema; nullable?: boolean; optional?: boolean }
  | { type: "object"; properties: Record<string, Schema>; nullable?: boolean; optional?: boolean };

export interface ContractFile {
  layer: LayerName;
  contractVersion: number;
  schema: Schema;
}

export const CONTRACTS_SOURCE = path.join(REPO_ROOT, "stacks", "shared", "contracts.ts");

export function interfaceName(layer: LayerName): string {
  return `${layer[0].toUpperCase()}${layer.slice(1)}Contract`;
}

export function contractPath(layer: LayerName, dir = path.join(REPO_ROOT, "stacks")): string {
  return path.join(dir, layer, "contract.json");
}

function describeType(type: ts.Type, checker: ts.TypeChecker, seen: Set<ts.Type> = new Set()): Schema {
  if (type.isUnion()) {
    const members = type.types.filter((t) => !(t.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)));
    const nullable = type.types.some((t) => t.flags & ts.TypeFlags.Null);
    const allBool = members.every((t) => t.flags & ts.TypeFlags.BooleanLiteral);
    const base = allBool
      ? ({ type: "boolean" } as Schema)
      : members.length === 1
        ? describeType(members[0], checker, seen)
        : ({ type: "unknown" } as Schema);
    return nullable ? { ...base, nullable: true } : base;
  }
  if (type.flags & (ts.TypeFlags.String | ts.TypeFlags.StringLiteral)) return { type: "string" };
  if (type.flags & (ts.TypeFlags.Number | ts.TypeFlags.NumberLiteral)) return { type: "number" };
  if (type.flags & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) return { type: "boolean" };
  if (checker.isArrayType(type)) {
    const [item] = checker.getTypeArguments(type as ts.TypeReference);
    return { type: "array", items: describeType(item, checker, seen) };
  }
  const indexed = checker.getIndexInfoOfType(type, ts.IndexKind.String);
  if (indexed) return { type: "record", values: describeType(indexed.type, checker, seen) };
  if (type.flags & ts.TypeFlags.Object && !seen.has(type)) {
    seen.add(type);
    const properties: Record<string, Schema> = {};
    for (const prop of checker.getPropertiesOfType(type)) {
      const decl = prop.valueDeclaration ?? prop.declarations?.[0];
      const propType = checker.getTypeOfSymbolAtLocation(prop, decl!);
      const schema = describeType(propType, checker, seen);
      properties[prop.name] = prop.flags & ts.SymbolFlags.Optional ? { ...schema, optional: true } : schema;
    }
    seen.delete(type);
    return { type: "object", properties };
  }
  return { type: "unknown" };
}

function loadProgram(files: string[]): ts.Program {
  return ts.createProgram(files, {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    skipLibCheck: true,
    noEmit: true,
  });
}

/** The schema of each layer's contract interface, read from a contracts source file. */
export function schemasFromSource(source = CONTRACTS_SOURCE): Record<LayerName, Schema> {
  const program = loadProgram([source]);
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(source);
  if (!file) throw new Error(`cannot read ${source}`);
  const out: Partial<Record<LayerName, Schema>> = {};
  ts.forEachChild(file, (node) => {
    if (!ts.isInterfaceDeclaration(node)) return;
    const layer = LAYERS.find((l) => interfaceName(l) === node.name.text);
    if (layer) out[layer] = describeType(checker.getTypeAtLocation(node), checker);
  });
  for (const layer of LAYERS) if (!out[layer]) throw new Error(`${source} has no interface ${interfaceName(layer)}`);
  return out as Record<LayerName, Schema>;
}

function typeLabel(s: Schema): string {
  const base = s.type === "array" ? `${typeLabel(s.items)}[]` : s.type === "record" ? `record<${typeLabel(s.values)}>` : s.type;
  return s.nullable ? `${base} | null` : base;
}

/** Changes from `before` to `after` that break a consumer written against `before`. */
export function breakingChanges(before: Schema, after: Schema, at = ""): string[] {
  const where = at || "(root)";
  if (before.type !== after.type) return [`${where} retyped ${typeLabel(before)} -> ${typeLabel(after)}`];
  const out: string[] = [];
  if (!before.nullable && after.nullable) out.push(`${where} may now be null`);
  if (!before.optional && after.optional) out.push(`${where} became optional`);
  if (before.type === "array" && after.type === "array") out.push(...breakingChanges(before.items, after.items, `${at}[]`));
  if (before.type === "record" && after.type === "record") out.push(...breakingChanges(before.values, after.values, `${at}.*`));
  if (before.type === "object" && after.type === "object") {
    for (const [key, schema] of Object.entries(before.properties)) {
      const next = after.properties[key];
      const p = at ? `${at}.${key}` : key;
      if (!next) out.push(`${p} removed (or renamed)`);
      else out.push(...breakingChanges(schema, next, p));
    }
  }
  return out;
}

/** Where `value` does not match `schema`, as `path: problem` lines. */
export function validateValue(schema: Schema, value: unknown, at = ""): string[] {
  const where = at || "(root)";
  if (value === undefined) return schema.optional ? [] : [`${where} is missing`];
  if (value === null) return schema.nullable ? [] : [`${where} is null`];
  switch (schema.type) {
    case "string":
    case "number":
    case "boolean":
      return typeof value === schema.type ? [] : [`${where} is ${typeof value}, expected ${schema.type}`];
    case "array":
      return Array.isArray(value) ? value.flatMap((v, i) => validateValue(schema.items, v, `${at}[${i}]`)) : [`${where} is not a list`];
    case "record":
      return typeof value === "object"
        ? Object.entries(value as object).flatMap(([k, v]) => validateValue(schema.values, v, `${at}.${k}`))
        : [`${where} is not a map`];
    case "object":
      return typeof value === "object"
        ? Object.entries(schema.properties).flatMap(([k, s]) =>
            validateValue(s, (value as Record<string, unknown>)[k], at ? `${at}.${k}` : k),
          )
        : [`${where} is not an object`];
    default:
      return [];
  }
}

export interface ConsumerRead {
  file: string;
  line: number;
  layer: LayerName;
  key: string;
}

/** Every `LayerReference<XContract>` read with a literal key in the given files. */
/** A `receiver.method("key", ...)` call whose receiver has a named type, with its program's checker. */
interface LiteralCall {
  key: string;
  receiver: ts.Type;
  checker: ts.TypeChecker;
  file: string;
  line: number;
}

/** Every `receiver.method("literal", ...)` call in `files` whose receiver's type is named `typeName`. */
function literalCalls(files: string[], typeName: string): LiteralCall[] {
  const program = loadProgram(files);
  const checker = program.getTypeChecker();
  const calls: LiteralCall[] = [];
  for (const file of files) {
    const sf = program.getSourceFile(file);
    if (!sf) continue;
    const visit = (node: ts.Node): void => {
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        node.arguments.length > 0 &&
        ts.isStringLiteral(node.arguments[0])
      ) {
        const receiver = checker.getTypeAtLocation(node.expression.expression);
        if (receiver.getSymbol()?.getName() === typeName) {
          const { line } = sf.getLineAndCharacterOfPosition(node.getStart());
          calls.push({ key: node.arguments[0].text, receiver, checker, file: path.relative(REPO_ROOT, file), line: line + 1 });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return calls;
}

export function consumerReads(files: string[]): ConsumerRead[] {
  return literalCalls(files, "LayerReference").flatMap(({ key, receiver, checker, file, line }) => {
    const [arg] = checker.getTypeArguments(receiver as ts.TypeReference);
    const layer = LAYERS.find((l) => interfaceName(l) === arg?.getSymbol()?.getName());
    return layer ? [{ file, line, layer, key }] : [];
  });
}

/**
 * The config keys each layer's program reads through LayerConfig (`compute:spotShare`), sorted:
 * the keys in the layer's own files plus the platform keys every layer reads (stacks/shared/config.ts).
 */
export function configKeys(): Record<LayerName, string[]> {
  const shared = path.join(REPO_ROOT, "stacks", "shared", "config.ts");
  const files = [...layerSourceFiles(), shared];
  const calls = literalCalls(files, "LayerConfig").filter((c) => !c.key.includes(":"));
  const out = {} as Record<LayerName, string[]>;
  for (const layer of LAYERS) {
    const own = calls.filter((c) => c.file.startsWith(`stacks/${layer}/`) || c.file === path.relative(REPO_ROOT, shared));
    out[layer] = [...new Set(own.map((c) => `${layer}:${c.key}`))].sort();
  }
  return out;
}

export function readContract(layer: LayerName, dir?: string): ContractFile | undefined {
  const file = contractPath(layer, dir);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as ContractFile) : undefined;
}

export interface CheckInput {
  schemas: Record<LayerName, Schema>;
  versions: Record<LayerName, number>;
  committed: Partial<Record<LayerName, ContractFile>>;
  reads: ConsumerRead[];
  /** Real exports per layer, from the offline plan. */
  exports?: Partial<Record<LayerName, Record<string, unknown>>>;
}

export interface CheckResult {
  errors: string[];
  /** Contract files to write when the change is accepted (`npm run contracts -- update`). */
  updated: ContractFile[];
}

export function checkContracts(input: CheckInput): CheckResult {
  const errors: string[] = [];
  const updated: ContractFile[] = [];
  for (const layer of LAYERS) {
    const schema = input.schemas[layer];
    const version = input.versions[layer];
    const committed = input.committed[layer];
    const current: ContractFile = { layer, contractVersion: version, schema };
    if (!committed) {
      errors.push(`${layer}: no committed contract (stacks/${layer}/contract.json); run npm run contracts -- update`);
      updated.push(current);
      continue;
    }
    const breaking = breakingChanges(committed.schema, schema);
    if (breaking.length && version === committed.contractVersion) {
      errors.push(...breaking.map((b) => `${layer}: ${b} without a contractVersion bump (still ${version})`));
    } else if (version < committed.contractVersion) {
      errors.push(`${layer}: contractVersion went down from ${committed.contractVersion} to ${version}`);
    } else if (JSON.stringify(committed) !== JSON.stringify(current)) {
      errors.push(`${layer}: stacks/${layer}/contract.json is out of date with ${interfaceName(layer)}; run npm run contracts -- update`);
      updated.push(current);
    }
  }
  for (const read of input.reads) {
    // Against the contract as `update` would write it, so an additive key and its first reader can
    // land together (check mode still fails on the out-of-date file above).
    const producer = (updated.find((u) => u.layer === read.layer) ?? input.committed[read.layer])?.schema;
    if (producer?.type === "object" && !(read.key in producer.properties)) {
      errors.push(`${read.file}:${read.line} reads '${read.key}' from the ${read.layer} layer, whose contract has no such key`);
    }
  }
  for (const [layer, values] of Object.entries(input.exports ?? {}) as Array<[LayerName, Record<string, unknown>]>) {
    errors.push(...validateValue(input.schemas[layer], values).map((e) => `${layer} exports: ${e}`));
  }
  return { errors, updated };
}

export function writeContracts(files: ContractFile[], dir?: string): void {
  for (const f of files) fs.writeFileSync(contractPath(f.layer, dir), JSON.stringify(f, null, 2) + "\n");
}

/** The TypeScript files of the layer programs (the consumers of contracts). */
export function layerSourceFiles(): string[] {
  const out: string[] = [];
  for (const layer of LAYERS) {
    const dir = path.join(REPO_ROOT, "stacks", layer);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir)) if (f.endsWith(".ts")) out.push(path.join(dir, f));
  }
  return out;
}
