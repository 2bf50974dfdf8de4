/**
 * Runs a layer's real Pulumi program under the mock engine and records what it would deploy.
 * Downstream layers are fed the recorded exports of the upstream runs through their stack
 * references, so the chain is exercised with real exports, never hand-written fakes.
 * Used by the mocha specs and by `npm run plan`.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { LayerName } from "../../stacks/shared/tags";
import { mockInvoke, mockResourceState } from "./mock-aws";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
const STACKS_DIR = path.join(REPO_ROOT, "stacks");

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, any>;
  /** The logical name of the provider the engine was told to use (`network-aws`), if any. */
  provider?: string;
  custom: boolean;
}

export interface RecordedInvoke {
  token: string;
  inputs: Record<string, any>;
}

export interface LayerRun {
  layer: LayerName;
  stack: string;
  /** The stack name a consumer's `<layer>Stack` config points at. */
  stackName: string;
  resources: RecordedResource[];
  invokes: RecordedInvoke[];
  /** Stack references the program opened, by stack name. */
  stackReferences: string[];
  exports: Record<string, any>;
}

export interface RunOptions {
  stack?: string;
  organization?: string;
  /** Config for the layer's own namespace (`tier`) or fully qualified (`aws:region`). */
  config?: Record<string, unknown>;
  /** Upstream runs whose exports answer this layer's stack references. */
  upstream?: LayerRun[];
  /** Environment variables set while the program runs (ENVIRONMENT_SUFFIX is cleared otherwise). */
  env?: Record<string, string>;
  /**
   * Runs this function in place of stacks/<layer>/index.ts: for specs of the shared library that
   * need a Pulumi program (a tiny consumer of an upstream layer, say). Layer specs never set it.
   */
  program?: () => Record<string, unknown>;
}

function providerName(ref: string | undefined): string | undefined {
  // A provider reference is `<urn>::<id>`; the URN ends in `::<logical name>`.
  if (!ref) return undefined;
  const urn = ref.split("::").slice(0, -1).join("::");
  return urn.split("::").pop();
}

function clearProgramModules(): void {
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(STACKS_DIR + path.sep)) delete require.cache[key];
  }
}

async function resolveOutput(value: unknown): Promise<unknown> {
  const out = pulumi.output(value as pulumi.Input<unknown>) as unknown as { promise(): Promise<unknown> };
  return out.promise();
}

async function settle(count: () => number): Promise<void> {
  let last = -1;
  let stable = 0;
  for (let i = 0; i < 500 && stable < 5; i++) {
    await new Promise((r) => setTimeout(r, 10));
    const now = count();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
}

export function stackNameFor(layer: LayerName, stack: string, organization = "organization"): string {
  return `${organization}/${layer}/${stack}`;
}

export async function runLayer(layer: LayerName, options: RunOptions = {}): Promise<LayerRun> {
  const stack = options.stack ?? "dev";
  const organization = options.organization ?? "organization";
  const upstream = new Map((options.upstream ?? []).map((r) => [r.stackName, r]));
  const resources: RecordedResource[] = [];
  const invokes: RecordedInvoke[] = [];
  const stackReferences: string[] = [];

  const config: Record<string, string> = { "aws:region": "us-east-1" };
  for (const [key, value] of Object.entries(options.config ?? {})) {
    const fq = key.includes(":") ? key : `${layer}:${key}`;
    config[fq] = typeof value === "string" ? value : JSON.stringify(value);
  }
  pulumi.runtime.setAllConfig(config, []);

  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        if (args.type === "pulumi:pulumi:StackReference") {
          const name = String(args.inputs.name);
          stackReferences.push(name);
          const source = upstream.get(name);
          if (!source) throw new Error(`stack reference to ${name}: no upstream run was given for it`);
          return { id: name, state: { ...args.inputs, outputs: source.exports, secretOutputNames: [] } };
        }
        resources.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          provider: providerName(args.provider),
          custom: args.custom ?? true,
        });
        return mockResourceState(args.type, args.name, args.inputs);
      },
      call(args: pulumi.runtime.MockCallArgs) {
        invokes.push({ token: args.token, inputs: args.inputs });
        return mockInvoke(args.token, args.inputs);
      },
    },
    layer,
    stack,
    false,
    organization,
  );

  const savedEnv = { ...process.env };
  delete process.env.ENVIRONMENT_SUFFIX;
  Object.assign(process.env, options.env ?? {});
  try {
    clearProgramModules();
    const program = options.program
      ? options.program()
      : // eslint-disable-next-line @typescript-eslint/no-require-imports
        (require(path.join(STACKS_DIR, layer, "index.ts")) as Record<string, unknown>);
    const exports: Record<string, any> = {};
    for (const [key, value] of Object.entries(program)) {
      if (key === "__esModule") continue;
      exports[key] = await resolveOutput(value);
    }
    await settle(() => resources.length + invokes.length);
    return { layer, stack, stackName: stackNameFor(layer, stack, organization), resources, invokes, stackReferences, exports };
  } finally {
    process.env = savedEnv;
  }
}

/** Runs layers in dependency order, each fed the exports of those before it. */
export async function runChain(
  layers: readonly LayerName[],
  options: Omit<RunOptions, "upstream"> & { configs?: Partial<Record<LayerName, Record<string, unknown>>> } = {},
): Promise<Record<string, LayerRun>> {
  const runs: Record<string, LayerRun> = {};
  for (const layer of layers) {
    runs[layer] = await runLayer(layer, {
      ...options,
      config: { ...(options.config ?? {}), ...(options.configs?.[layer] ?? {}) },
      upstream: Object.values(runs),
    });
  }
  return runs;
}

/** Resources of a type, e.g. `ofType(run, "aws:ec2/subnet:Subnet")`. */
export function ofType(run: LayerRun, type: string): RecordedResource[] {
  return run.resources.filter((r) => r.type === type);
}

/** The one resource of a type and logical name; fails naming what exists when absent. */
export function byName(run: LayerRun, type: string, name: string): RecordedResource {
  const found = run.resources.find((r) => r.type === type && r.name === name);
  if (!found) {
    const names = ofType(run, type).map((r) => r.name);
    throw new Error(`no ${type} named ${name} in ${run.layer}; have: ${names.join(", ") || "none"}`);
  }
  return found;
}
