/**
 * Golden plans: each layer's offline plan (every resource with its inputs, and the outputs) for
 * each tier is committed as test/__snapshots__/<tier>/<layer>.json. A change to what a layer
 * deploys fails here with a readable diff; accept it with `make snapshots` and review the JSON
 * diff in the PR. The dev snapshots are also the optimizer's test fleet and the benchmark's
 * fallback plan (the one copy: nothing else holds a plan).
 */
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../scripts/plan/mock-engine";
import { PROD_NETWORK_CONFIG } from "../scripts/plan/mock-aws";
import { LayerPlan, planLayers, renderPlan, SECRET_MASK, toPlan } from "../scripts/plan/planner";
import { runChain } from "../scripts/plan/mock-engine";

const SNAPSHOT_DIR = path.join(REPO_ROOT, "test", "__snapshots__");
const UPDATE = process.env.UPDATE_SNAPSHOTS === "1";

for (const tier of ["dev", "prod"] as const) {
  describe(`offline plan snapshots (${tier})`, () => {
    let plans: LayerPlan[] = [];

    before(async () => {
      plans = await planLayers("all", { stack: tier, config: tier === "prod" ? { tier, ...PROD_NETWORK_CONFIG } : { tier } });
    });

    it("plans every layer that exists", () => {
      assert.ok(plans.length >= 1, "no layer was planned");
      for (const plan of plans) assert.match(renderPlan(plan), new RegExp(`== ${plan.layer} \\(stack ${tier}\\)`));
    });

    it("matches the reviewed snapshot of each layer", () => {
      for (const plan of plans) {
        const file = path.join(SNAPSHOT_DIR, tier, `${plan.layer}.json`);
        const actual = JSON.parse(JSON.stringify(plan));
        if (UPDATE || !fs.existsSync(file)) {
          if (!UPDATE && process.env.CI)
            assert.fail(`missing snapshot ${path.relative(REPO_ROOT, file)}: run make snapshots and commit it`);
          fs.mkdirSync(path.dirname(file), { recursive: true });
          fs.writeFileSync(file, JSON.stringify(actual, null, 2) + "\n");
          continue;
        }
        const expected = JSON.parse(fs.readFileSync(file, "utf8"));
        assert.deepStrictEqual(
          actual,
          expected,
          `${plan.layer} (${tier}) differs from ${path.relative(REPO_ROOT, file)}; run make snapshots if intended`,
        );
      }
    });
  });
}

describe("plan files hold no secret value", () => {
  it("masks every SSM parameter value and secret string, in the JSON and the printout", async () => {
    const runs = await runChain(["network", "registry", "compute"], {
      configs: {
        compute: { services: { frontend: { environment: { FEATURE_FLAG_TOKEN: "plain-setting-value-123" }, secrets: ["SESSION_KEY"] } } },
      },
    });
    // The mock engine hands a secret input over as Pulumi's secret envelope {<signature>, value}.
    const plain = (v: any): string => String(v !== null && typeof v === "object" && "value" in v ? v.value : v);
    const secretValues: string[] = [];
    for (const r of runs.compute.resources) {
      if (r.type === "aws:ssm/parameter:Parameter") secretValues.push(plain(r.inputs.value));
      if (r.type === "aws:secretsmanager/secretVersion:SecretVersion") secretValues.push(plain(r.inputs.secretString));
    }
    assert.ok(secretValues.includes("plain-setting-value-123"));
    assert.ok(secretValues.length >= 4, "settings and secrets were declared");
    const plan = toPlan(runs.compute);
    const text = JSON.stringify(plan) + renderPlan(plan);
    for (const v of secretValues) assert.ok(!text.includes(v), `the plan shows ${v}`);
    const masked = plan.resources.filter((r) => r.inputs.value === SECRET_MASK || r.inputs.secretString === SECRET_MASK);
    assert.equal(masked.length, secretValues.length);
  });
});
