/**
 * A stand-in for the `aws` resource provider plugin, for running the layers on the real Pulumi
 * engine without AWS (the real plugin is not available here). It serves the provider protocol
 * through `@pulumi/pulumi/provider`:
 *
 * - ids, ARNs and computed attributes come from the same table the mock engine uses
 *   (`../mock-aws.ts`), so a real-engine deployment and an offline plan agree;
 * - the types `ecs-optimizer` reads and tunes live in the local AWS emulator (`./emulated.ts`);
 *   every other type lives only in the Pulumi state;
 * - diff follows the real provider where it matters to a no-drift preview: JSON documents
 *   compare by value, optional nested fields the program leaves out compare equal to what AWS
 *   filled in, and a task definition is replaced (a new revision), never updated in place.
 *
 * Fidelity gaps are listed in docs/real-engine-tests.md.
 */
import { isDeepStrictEqual } from "util";
import * as provider from "@pulumi/pulumi/provider";
import { MOCK_REGION, mockComputedKeys, mockInvoke, mockResourceState } from "../../../scripts/plan/mock-aws";
import { Clients, EMULATED, emulatorClients } from "./emulated";

type Props = Record<string, any>;

/** The engine's marker for a value not known until the update (preview only). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** The key that marks a secret value in the provider protocol's structs. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Inputs that force a replacement when they change, by type: names and identities AWS cannot rename. */
const REPLACE_ON_CHANGE: Record<string, readonly string[] | "all-but-tags"> = {
  "aws:ecs/taskDefinition:TaskDefinition": "all-but-tags",
  "aws:ecs/cluster:Cluster": ["name"],
  "aws:ecs/service:Service": ["name", "cluster"],
  "aws:ecr/repository:Repository": ["name"],
  "aws:ecr/lifecyclePolicy:LifecyclePolicy": ["repository"],
  "aws:appautoscaling/target:Target": ["resourceId", "scalableDimension", "serviceNamespace"],
  "aws:cloudwatch/metricAlarm:MetricAlarm": ["name"],
};
const NOT_FORCING = new Set(["tags", "tagsAll", "trackLatest", "skipDestroy"]);

/** `urn:pulumi:<stack>::<project>::<parent$>type::<name>` -> [type, name]. */
export function parseUrn(urn: string): [string, string] {
  const parts = urn.split("::");
  const types = parts[2].split("$");
  return [types[types.length - 1], parts.slice(3).join("::")];
}

/** Removes the protocol's secret wrappers (the value itself is what AWS would receive). */
export function reveal(value: unknown): any {
  if (Array.isArray(value)) return value.map(reveal);
  if (value && typeof value === "object") {
    const o = value as Props;
    if (o[SIG_KEY] === SECRET_SIG) return reveal(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, reveal(v)]));
  }
  return value;
}

function parsedJson(value: unknown): unknown {
  if (typeof value !== "string" || !/^\s*[[{]/.test(value)) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/**
 * Whether a desired value matches the recorded one. JSON documents compare by value; an object
 * matches when every key the desired side sets matches (what AWS adds on its own is not drift).
 */
export function matches(desired: unknown, recorded: unknown): boolean {
  const d = parsedJson(reveal(desired));
  const r = parsedJson(reveal(recorded));
  if (d === UNKNOWN) return false;
  if (Array.isArray(d)) return Array.isArray(r) && d.length === r.length && d.every((v, i) => matches(v, r[i]));
  if (d && typeof d === "object") {
    if (!r || typeof r !== "object" || Array.isArray(r)) return false;
    return Object.entries(d).every(([k, v]) => v === undefined || v === null || matches(v, (r as Props)[k]));
  }
  if (typeof d === "number" || typeof r === "number") return String(d) === String(r);
  return isDeepStrictEqual(d, r);
}

/** The state keys AWS computes for a type (and the id): never inputs, never drift. */
function computedKeys(type: string): Set<string> {
  return new Set([...mockComputedKeys(type), "id"]);
}

/** The top-level inputs whose desired value differs from the recorded state. */
export function changedKeys(type: string, olds: Props, news: Props): string[] {
  const computed = computedKeys(type);
  const keys = new Set([...Object.keys(news), ...Object.keys(olds).filter((k) => !computed.has(k))]);
  return [...keys].filter((k) => {
    const [n, o] = [news[k], olds[k]];
    if (n === undefined || n === null) return !(o === undefined || o === null || computed.has(k));
    return !matches(n, o);
  });
}

export function replacementKeys(type: string, changed: string[]): string[] {
  const rule = REPLACE_ON_CHANGE[type];
  if (!rule) return changed.filter((k) => k === "name");
  if (rule === "all-but-tags") return changed.filter((k) => !NOT_FORCING.has(k));
  return changed.filter((k) => rule.includes(k));
}

export class StandInAwsProvider implements provider.Provider {
  readonly version: string;
  private clients?: Clients;

  constructor(version: string) {
    this.version = version;
  }

  private emulator(): Clients {
    this.clients ??= emulatorClients(process.env.AWS_REGION ?? MOCK_REGION);
    return this.clients;
  }

  async check(_urn: string, _olds: Props, news: Props): Promise<provider.CheckResult> {
    return { inputs: news };
  }

  async diff(_id: string, urn: string, olds: Props, news: Props): Promise<provider.DiffResult> {
    const [type] = parseUrn(urn);
    const changed = changedKeys(type, olds, news);
    return { changes: changed.length > 0, replaces: replacementKeys(type, changed), deleteBeforeReplace: false };
  }

  async create(urn: string, inputs: Props): Promise<provider.CreateResult> {
    const [type, name] = parseUrn(urn);
    const { id, state } = mockResourceState(type, name, inputs);
    const emulated = EMULATED[type];
    const outs = emulated ? await emulated.create(this.emulator(), reveal(inputs), state) : state;
    return { id, outs };
  }

  async read(id: string, urn: string, props: Props): Promise<provider.ReadResult> {
    const [type] = parseUrn(urn);
    const emulated = EMULATED[type];
    if (!emulated) return { id, props };
    const live = await emulated.read(this.emulator(), reveal(props));
    // Gone from the emulator: an empty id tells the engine the resource no longer exists.
    if (!live) return { id: "", props: {} };
    // As the real provider does, refresh updates the inputs too (everything but the computed
    // attributes), so ignoreChanges and the next diff start from what is live.
    const computed = computedKeys(type);
    return { id, props: live, inputs: Object.fromEntries(Object.entries(live).filter(([k]) => !computed.has(k))) };
  }

  async update(id: string, urn: string, olds: Props, news: Props): Promise<provider.UpdateResult> {
    const [type, name] = parseUrn(urn);
    const { state } = mockResourceState(type, name, news);
    const kept = { ...state, ...Object.fromEntries(mockComputedKeys(type).map((k) => [k, olds[k]])), id };
    const emulated = EMULATED[type];
    const outs = emulated ? await emulated.update(this.emulator(), reveal(olds), reveal(news), kept) : kept;
    return { outs };
  }

  async delete(_id: string, urn: string, props: Props): Promise<void> {
    const [type] = parseUrn(urn);
    await EMULATED[type]?.delete(this.emulator(), reveal(props));
  }

  async invoke(token: string, inputs: Props): Promise<provider.InvokeResult> {
    return { outputs: mockInvoke(token, inputs) };
  }
}
