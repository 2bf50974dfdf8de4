/**
 * The Pulumi-first path on the real Pulumi engine (`make e2e`, part of `make test`).
 *
 * Two identical fresh deployments of the dev example (the default catalog), as stacks `first`
 * and `direct` (so environment suffixes `first` and `direct`), seeded by the lab with the same
 * utilization history, so the metrics policy plans the same for both:
 *
 * 1. `first`: `ecs-optimizer optimize --via-pulumi --write-config ...` makes no mutating AWS call
 *    (the emulator's own call count says so) and writes the three stack files;
 * 2. `pulumi preview --json` of registry, compute and observability, before any update, changes
 *    exactly the resources and properties the report names (no others);
 * 3. `scripts/layers.sh up first` applies them through the platform's own deployment, while
 *    `direct` takes a direct `ecs-optimizer optimize --write-config ...`;
 * 4. both are read back from the emulator: every field the plan names is the same in both
 *    (suffixes aside), except the ones the report says `pulumi up` does not set, which are where
 *    the report says they are after `pulumi up`;
 * 5. both are destroyed.
 */
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { findPulumi, OPTIMIZED_LAYERS, policyPackArgs, Workspace } from "../harness/engine";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { changedKeys } from "../harness/provider/provider";
import { REPO_ROOT } from "../../scripts/plan/mock-engine";
import { LAYERS } from "../../stacks/shared/tags";

/** The Pulumi-first stack and the directly optimized one: same example config (dev), own suffix. */
const FIRST = "first";
const DIRECT = "direct";
const STACKS = [FIRST, DIRECT];
/** The example environment both copy. */
const EXAMPLE = "dev";
/** Planning options both runs share: the metrics policy reads the seeded history. */
const PLANNING = ["--policy", "metrics", "--spot-share", "0.8", "--keep-images", "4"];

const pulumi = findPulumi();

interface PropertyChange {
  property: string;
  before: unknown;
  after: unknown;
  afterUpstream?: string;
}
interface ExpectedResource {
  layer: string;
  type: string;
  name: string;
  operation: string;
  services: string[];
  properties: PropertyChange[];
}
interface Deferred {
  service: string;
  type: string;
  name: string;
  property: string;
  before: unknown;
  planned: unknown;
  afterPulumiUp: unknown;
  how: string;
}
interface Report {
  mode: string;
  expectedPreview: { layers: Record<string, ExpectedResource[]>; deferred: Deferred[] };
  pullRequestComment: string;
  writeConfig: { files: Array<{ layer: string; status: string }> };
}
interface PreviewStep {
  op: string;
  urn: string;
  oldState?: { type: string; inputs?: Record<string, unknown> };
  newState?: { type: string; inputs?: Record<string, unknown> };
  diffReasons?: string[];
  replaceReasons?: string[];
}

/** The AWS name a resource of the report is known by, from its Pulumi inputs. */
function awsName(type: string, inputs: Record<string, unknown>): string {
  const key: Record<string, string> = {
    "aws:ecs/taskDefinition:TaskDefinition": "family",
    "aws:appautoscaling/target:Target": "resourceId",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "repository",
  };
  return String(inputs[key[type] ?? "name"]);
}

/** The top-level input a report property is under (`runtimePlatform.cpuArchitecture` -> `runtimePlatform`). */
const topLevel = (property: string) => property.split(".")[0];

/** Operations a preview step changes something with (a replacement shows as several steps). */
const CHANGING = new Set(["update", "replace", "create-replacement", "delete-replaced", "create", "delete"]);

describe("the Pulumi-first path on the real engine: optimize --via-pulumi, then scripts/layers.sh up", function () {
  this.timeout(900_000);
  if (!pulumi) {
    it("needs the pulumi CLI (make e2e says how to get one)", function () {
      this.skip();
    });
    return;
  }
  const ws = new Workspace(path.join(REPO_ROOT, "build", "e2e-pulumi-first"), pulumi);
  const stackFile = (layer: string, stack: string) => path.join(ws.repo, "stacks", layer, `Pulumi.${stack}.yaml`);
  const outputsFile = (layer: string, stack: string) => path.join(ws.root, `${layer}-${stack}.json`);
  const python = path.join(REPO_ROOT, ".venv", "bin", "python");
  let report: Report;
  let directReport: { services: Array<{ service: string; status: string }> };

  /** Saves a layer's `pulumi stack output --json` and returns it. */
  const outputs = async (layer: string, stack: string) => {
    const out = ws.check(await ws.pulumiIn(layer, ["stack", "output", "--json", "--stack", stack]), `stack output (${layer}/${stack})`);
    fs.writeFileSync(outputsFile(layer, stack), out.stdout);
    return JSON.parse(out.stdout);
  };
  const lab = async (args: string[]) =>
    JSON.parse(ws.check(await ws.run(python, ["-m", "ecs_optimizer_lab.deployed", ...args]), `lab ${args[0]}`).stdout);
  const emulatorCalls = async () => (await (await fetch(`${ws.env.AWS_ENDPOINT_URL}/_emulator/calls`)).json()) as Record<string, number>;
  const optimize = (stack: string, extra: string[]) =>
    ws.run("ecs-optimizer", [
      "optimize",
      ...PLANNING,
      "--stack",
      stack,
      "--observability-outputs",
      outputsFile("observability", stack),
      "--journal",
      path.join(ws.root, `journal-${stack}.jsonl`),
      ...OPTIMIZED_LAYERS.flatMap((l) => ["--write-config", path.join("stacks", l, `Pulumi.${stack}.yaml`)]),
      "--format",
      "json",
      ...extra,
    ]);

  before(async () => {
    ws.prepare();
    await ws.startEmulator();
    for (const layer of LAYERS) for (const stack of STACKS) fs.copyFileSync(stackFile(layer, EXAMPLE), stackFile(layer, stack));
  });
  after(() => ws.stopEmulator());

  it("deploys two identical dev environments, first and direct", async () => {
    // Layer by layer in dependency order, both stacks at once (no stack selection is shared:
    // every command names its stack).
    for (const layer of LAYERS) {
      const runs = await Promise.all(
        STACKS.map(async (stack) => {
          ws.check(await ws.pulumiIn(layer, ["stack", "init", stack, "--no-select"]), `stack init (${layer}/${stack})`);
          // The setup: no policy packs here (they run on the Pulumi-first update and its preview).
          return ws.pulumiIn(layer, ["up", "--yes", "--skip-preview", "--stack", stack]);
        }),
      );
      runs.forEach((run, i) => ws.check(run, `pulumi up (${layer}/${STACKS[i]})`));
    }
    await Promise.all(STACKS.flatMap((stack) => ["compute", "observability"].map((layer) => outputs(layer, stack))));
  });

  it("seeds both with the same utilization history through the lab", async () => {
    const seeded = await lab([
      "seed-history",
      "--endpoint",
      String(ws.env.AWS_ENDPOINT_URL),
      ...STACKS.flatMap((s) => ["--outputs", outputsFile("compute", s)]),
    ]);
    assert.equal(seeded.length, 2);
    assert.equal(seeded[0].datapoints, seeded[1].datapoints);
  });

  it("optimize --via-pulumi makes no mutating AWS call and writes the stack files", async () => {
    const pristine = OPTIMIZED_LAYERS.map((l) => fs.readFileSync(stackFile(l, FIRST), "utf8"));
    const before = await emulatorCalls();
    const run = ws.check(await optimize(FIRST, ["--via-pulumi"]), "optimize --via-pulumi");
    const after = await emulatorCalls();
    // What reached the emulator during the run, by operation: reads only (Describe*, List*, Get*, Filter*).
    const made = Object.keys(after).filter((op) => after[op] !== (before[op] ?? 0));
    assert.ok(made.length > 0, "the run made no AWS call at all");
    const writes = made.filter((op) => !/:(Describe|List|Get|Filter)[A-Z]/.test(op));
    assert.deepEqual(writes, [], `mutating calls during optimize --via-pulumi: ${writes.join(", ")}`);
    fs.writeFileSync(path.join(ws.root, `via-pulumi-${FIRST}.json`), run.stdout);
    report = JSON.parse(run.stdout);
    assert.equal(report.mode, "via-pulumi");
    assert.deepEqual(
      report.writeConfig.files.map((f) => [f.layer, f.status]),
      [
        ["registry", "written"],
        ["compute", "written"],
        ["observability", "written"],
      ],
    );
    OPTIMIZED_LAYERS.forEach((l, i) => assert.notEqual(fs.readFileSync(stackFile(l, FIRST), "utf8"), pristine[i], `${l} not written`));
    assert.match(report.pullRequestComment, /^## ecs-optimizer: cost changes for stack `first`, through `pulumi up`/);
    assert.ok(report.expectedPreview.layers.compute?.length, "the plan changes nothing in compute");
  });

  it("pulumi preview, before the update, changes exactly the resources and properties the report names", async () => {
    const layers = ["registry", "compute", "observability"];
    const previews = await Promise.all(layers.map((l) => ws.pulumiIn(l, ["preview", "--json", "--stack", FIRST, ...policyPackArgs()])));
    previews.forEach((p, i) => {
      const layer = layers[i];
      const text = ws.check(p, `pulumi preview --json (${layer})`).stdout;
      fs.writeFileSync(path.join(ws.root, `preview-${layer}-${FIRST}.json`), text);
      const steps: PreviewStep[] = JSON.parse(text).steps ?? [];
      // Expected at preview time: what the report names, less what follows an upstream layer's update.
      const expected = new Map<string, Set<string>>();
      for (const r of report.expectedPreview.layers[layer] ?? []) {
        const props = r.properties.filter((p) => !p.afterUpstream).map((p) => topLevel(p.property));
        if (props.length) expected.set(`${r.type} ${r.name}`, new Set(props));
      }
      const seen = new Map<string, Set<string>>();
      for (const step of steps.filter((s) => CHANGING.has(s.op))) {
        const state = step.newState ?? step.oldState;
        assert.ok(state, `${layer}: step ${step.op} ${step.urn} has no state`);
        const key = `${state.type} ${awsName(state.type, state.inputs ?? {})}`;
        // The properties that differ, as the provider's diff compares them (this provider returns
        // no per-property reasons for an update, so they are recomputed from the step's states).
        const news = step.newState?.inputs ?? {};
        const differing = changedKeys(state.type, step.oldState?.inputs ?? {}, news);
        if (!expected.has(key)) {
          // The stand-in provider cannot preview an update, so an updated resource's outputs are
          // unknown in a preview, and so is an input made from them (the optimizer policy lists the
          // services' ARNs). Such a resource may show, with unknown values only; the update's own
          // summary below shows it unchanged.
          const known = differing.filter((k) => news[k] !== unknownValue);
          assert.deepEqual(known, [], `${layer}: ${step.op} ${key} is not in the report`);
          continue;
        }
        const props = seen.get(key) ?? new Set<string>();
        for (const p of [...differing, ...(step.diffReasons ?? []), ...(step.replaceReasons ?? [])]) props.add(topLevel(p));
        seen.set(key, props);
      }
      assert.deepEqual([...seen.keys()].sort(), [...expected.keys()].sort(), `${layer}: changed resources`);
      for (const [key, props] of expected) {
        assert.deepEqual([...(seen.get(key) ?? [])].sort(), [...props].sort(), `${layer}: ${key} properties`);
      }
    });
  });

  it("scripts/layers.sh up applies the Pulumi-first change while the twin takes a direct optimize", async () => {
    const [up, direct] = await Promise.all([
      ws.run("bash", ["scripts/layers.sh", "up", FIRST, "--skip-preview", ...policyPackArgs()]),
      optimize(DIRECT, ["--poll-interval", "0.2", "--wait-timeout", "120"]),
    ]);
    ws.check(up, "scripts/layers.sh up first");
    // What the update did, per layer: as many updates and replacements as the report names, no other.
    const histories = await Promise.all(LAYERS.map((layer) => ws.pulumiIn(layer, ["stack", "history", "--json", "--stack", FIRST])));
    for (const [i, layer] of LAYERS.entries()) {
      const history = JSON.parse(ws.check(histories[i], `stack history (${layer})`).stdout);
      const changes: Record<string, number> = history[0].resourceChanges ?? {};
      const named = report.expectedPreview.layers[layer] ?? [];
      const count = (op: string) => named.filter((r) => r.operation === op).length;
      const done = Object.fromEntries(Object.entries(changes).filter(([op]) => !["same", "read"].includes(op)));
      const wanted = Object.fromEntries(["update", "replace"].map((op) => [op, count(op)]).filter(([, n]) => n));
      assert.deepEqual(done, wanted, `${layer}: the update's resource changes`);
    }
    directReport = JSON.parse(ws.check(direct, "optimize --write-config (direct)").stdout);
    // The same plan: the same services changed, and the same keys written (suffixes and each
    // stack's own encryption salt aside).
    const changed = (names: string[]) => [...new Set(names)].sort();
    assert.deepEqual(
      changed(directReport.services.filter((s) => s.status === "applied").map((s) => s.service)),
      changed([
        ...Object.values(report.expectedPreview.layers).flatMap((resources) => resources.flatMap((r) => r.services)),
        ...report.expectedPreview.deferred.map((d) => d.service),
      ]),
    );
    const written = (layer: string, stack: string) =>
      fs
        .readFileSync(stackFile(layer, stack), "utf8")
        .split("\n")
        .filter((line) => !line.startsWith("encryptionsalt:"))
        .join("\n");
    for (const layer of OPTIMIZED_LAYERS)
      assert.equal(written(layer, FIRST), written(layer, DIRECT), `${layer}: the two paths wrote different keys`);
  });

  it("reaches the direct run's live state for every field the plan names, and where the report says it does not", async () => {
    await Promise.all(STACKS.flatMap((stack) => ["compute", "observability"].map((layer) => outputs(layer, stack))));
    const read = (stack: string) =>
      lab([
        "read-state",
        "--endpoint",
        String(ws.env.AWS_ENDPOINT_URL),
        "--outputs",
        outputsFile("compute", stack),
        "--observability-outputs",
        outputsFile("observability", stack),
      ]);
    const [first, direct] = await Promise.all([read(FIRST), read(DIRECT)]);
    const observability = JSON.parse(fs.readFileSync(outputsFile("observability", FIRST), "utf8"));
    /** alarm name (first's) -> [service, kind] */
    const alarmKinds = new Map<string, [string, string]>();
    for (const [svc, kinds] of Object.entries(observability.alarms as Record<string, Record<string, { name: string } | null>>)) {
      for (const [kind, ref] of Object.entries(kinds)) if (ref) alarmKinds.set(ref.name, [svc, kind]);
    }
    /** The read-back field of a report property, per catalog service (taskDefinition: seen as cpu and memory). */
    const fieldOf = (type: string, property: string, name: string): ((row: any) => unknown) | undefined => {
      const fields: Record<string, string> = {
        "aws:ecs/taskDefinition:TaskDefinition cpu": "cpu",
        "aws:ecs/taskDefinition:TaskDefinition memory": "memory",
        "aws:ecs/service:Service capacityProviderStrategies": "capacityProviderStrategy",
        "aws:appautoscaling/target:Target minCapacity": "minCapacity",
        "aws:appautoscaling/target:Target maxCapacity": "maxCapacity",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy policy": "keepImages",
      };
      if (type === "aws:cloudwatch/metricAlarm:MetricAlarm" && property === "threshold") {
        const [, kind] = alarmKinds.get(name) ?? [];
        assert.ok(kind, `alarm ${name} is not in observability's outputs`);
        return (row) => row.alarms[kind];
      }
      if (type === "aws:ecs/service:Service" && property === "taskDefinition") return undefined;
      const field = fields[`${type} ${property}`];
      assert.ok(field, `no read-back for ${type} ${property}`);
      return (row) => row[field];
    };
    let compared = 0;
    for (const resources of Object.values(report.expectedPreview.layers)) {
      for (const r of resources) {
        for (const p of r.properties) {
          const get = fieldOf(r.type, p.property, r.name);
          if (!get) continue;
          for (const svc of r.services) {
            const where = `${svc}: ${r.type} ${p.property}`;
            assert.deepEqual(get(first[svc]), get(direct[svc]), `${where} differs between the two paths`);
            compared++;
          }
        }
      }
    }
    assert.ok(compared > 0, "no field compared");
    // What pulumi up does not set: where the report says it is after pulumi up, and the direct run's value otherwise.
    for (const d of report.expectedPreview.deferred) {
      assert.equal(d.property, "desiredCount");
      assert.equal(first[d.service].desiredCount, d.afterPulumiUp, `${d.service}: desiredCount after pulumi up`);
      assert.equal(direct[d.service].desiredCount, d.planned, `${d.service}: desiredCount of the direct run`);
      assert.match(d.how, /ignoreChanges/);
      assert.ok(report.pullRequestComment.includes(d.how), `${d.service}: the comment does not say how desiredCount takes effect`);
    }
  });

  it("destroys both environments", async () => {
    for (const layer of [...LAYERS].reverse()) {
      const runs = await Promise.all(STACKS.map((s) => ws.pulumiIn(layer, ["destroy", "--yes", "--skip-preview", "--stack", s])));
      runs.forEach((run, i) => ws.check(run, `pulumi destroy (${layer}/${STACKS[i]})`));
    }
    for (const layer of LAYERS) {
      for (const stack of STACKS) {
        const state = JSON.parse(ws.check(await ws.pulumiIn(layer, ["stack", "export", "--stack", stack])).stdout);
        assert.deepEqual(state.deployment?.resources ?? [], [], `${layer}/${stack} still has resources`);
      }
    }
  });
});
