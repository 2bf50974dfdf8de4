/**
 * The offline plan: what each layer would create and export, computed by running the layers'
 * real programs under the mock engine in dependency order. Shared by `npm run plan` and the
 * snapshot specs, so what reviewers read is what the tests pin.
 */
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { LAYERS, LayerName } from "../../stacks/shared/tags";
import { LayerRun, REPO_ROOT, runChain } from "./mock-engine";

/** What a plan prints in place of a secret value, as the Pulumi CLI does. */
export const SECRET_MASK = "[secret]";

/**
 * The inputs that hold secret values, by resource type: a secret's value, and an SSM parameter's
 * value unless it is a plain `String` (every setting the platform writes is a SecureString).
 */
const SECRET_INPUTS: Record<string, (inputs: Record<string, unknown>) => readonly string[]> = {
  "aws:secretsmanager/secretVersion:SecretVersion": () => ["secretString", "secretBinary"],
  "aws:ssm/parameter:Parameter": (i) => (i.type === "String" ? [] : ["value", "insecureValue"]),
};

export interface PlannedResource {
  type: string;
  name: string;
  description: string;
  provider?: string;
  inputs: Record<string, unknown>;
}

export interface LayerPlan {
  layer: LayerName;
  stack: string;
  resources: PlannedResource[];
  outputs: Record<string, unknown>;
}

export function availableLayers(): LayerName[] {
  return LAYERS.filter((l) => fs.existsSync(path.join(REPO_ROOT, "stacks", l, "index.ts")));
}

/** The layers `target` needs, in dependency order (a layer needs every layer before it). */
export function layersFor(target: LayerName | "all"): LayerName[] {
  const available = availableLayers();
  if (target === "all") return available;
  return available.slice(0, available.indexOf(target) + 1);
}

export function redact(type: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const secret = SECRET_INPUTS[type]?.(inputs) ?? [];
  return Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, secret.includes(k) && v !== undefined ? SECRET_MASK : v]));
}

const short = (type: string) => type.split(":").pop() ?? type;

/** One human line per resource, shown in the plan table (in the spirit of Copilot's descriptions). */
export function describeResource(type: string, i: Record<string, any>): string {
  switch (short(type)) {
    case "Subnet":
      return `${i.cidrBlock} in ${i.availabilityZone}${i.mapPublicIpOnLaunch ? " (public)" : ""}`;
    case "NatGateway":
      return "NAT gateway for private subnet egress";
    case "VpcEndpoint":
      return `${i.vpcEndpointType ?? "Gateway"} endpoint ${String(i.serviceName ?? "")
        .split(".")
        .slice(3)
        .join(".")}`;
    case "Listener":
      return `${i.protocol ?? ""} :${i.port} -> ${i.defaultActions?.[0]?.type ?? ""}`;
    case "ListenerRule":
      return `priority ${i.priority}`;
    case "Repository":
      return `ECR ${i.name} (${i.imageTagMutability ?? "MUTABLE"})`;
    case "TaskDefinition":
      return `${i.family}: ${i.cpu} CPU / ${i.memory} MiB`;
    case "Service":
      return type.startsWith("aws:ecs") ? `${i.name}: desired ${i.desiredCount}` : String(i.name ?? "");
    case "Target":
      return `${i.resourceId}: ${i.minCapacity}..${i.maxCapacity} tasks`;
    case "MetricAlarm": {
      // A metric-math alarm compares the query it returns.
      const watched = i.metricName ?? (i.metricQueries as Array<Record<string, any>> | undefined)?.find((q) => q.returnData)?.expression;
      return `${i.name}: ${watched} ${i.comparisonOperator} ${i.threshold}`;
    }
    case "LogGroup":
      return `${i.name}, ${i.retentionInDays} days`;
    default:
      return String(i.name ?? i.family ?? i.dashboardName ?? "");
  }
}

export function toPlan(run: LayerRun): LayerPlan {
  return {
    layer: run.layer,
    stack: run.stack,
    // Sorted, because registration order follows when inputs resolve, which is no part of the plan.
    resources: [...run.resources]
      .sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name))
      .map((r) => ({
        type: r.type,
        name: r.name,
        description: describeResource(r.type, r.inputs),
        provider: r.provider,
        inputs: redact(r.type, r.inputs),
      })),
    outputs: run.exports,
  };
}

export async function planLayers(
  target: LayerName | "all",
  options: { stack?: string; config?: Record<string, unknown> } = {},
): Promise<LayerPlan[]> {
  const runs = await runChain(layersFor(target), options);
  return Object.values(runs).map(toPlan);
}

/**
 * The `config:` map of a Pulumi stack file (`Pulumi.<stack>.yaml`) as the engine hands it to a
 * program: fully qualified `layer:key` names, scalars as their text, maps and lists JSON-encoded.
 * Lets the plan read exactly the file `pulumi up` would (the optimizer's write-back, say).
 * Encrypted values (`{secure: ...}`) cannot be read offline: they are left out and reported
 * through `skipped`, so the layer's default (or a `--config` given after the file) applies.
 */
export function readStackConfigFile(file: string, skipped: (key: string) => void = () => undefined): Record<string, string> {
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: not a readable YAML file: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc))
    throw new Error(`${file}: not a Pulumi stack file (expected a map with a config: key)`);
  const config = (doc as Record<string, unknown>).config ?? {};
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new Error(`${file}: config: expected a map of layer:key -> value`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    if (!/^[^:\s]+:[^:\s]+$/.test(key)) throw new Error(`${file}: config key ${JSON.stringify(key)} is not fully qualified (layer:key)`);
    if (typeof value === "object" && value !== null && !Array.isArray(value) && "secure" in value) {
      skipped(key);
      continue;
    }
    out[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return out;
}

export function renderPlan(plan: LayerPlan): string {
  const rows = plan.resources.filter((r) => r.type.startsWith("aws:"));
  const typeWidth = Math.max(...rows.map((r) => short(r.type).length), 4);
  const nameWidth = Math.max(...rows.map((r) => r.name.length), 4);
  const lines = [`== ${plan.layer} (stack ${plan.stack}): ${rows.length} AWS resources`, ""];
  lines.push(`  ${"TYPE".padEnd(typeWidth)}  ${"NAME".padEnd(nameWidth)}  DESCRIPTION`);
  for (const r of rows) lines.push(`  ${short(r.type).padEnd(typeWidth)}  ${r.name.padEnd(nameWidth)}  ${r.description}`);
  lines.push("", "  outputs:");
  for (const [k, v] of Object.entries(plan.outputs)) {
    const text = JSON.stringify(v);
    lines.push(`    ${k}: ${text.length > 110 ? text.slice(0, 107) + "..." : text}`);
  }
  return lines.join("\n");
}
