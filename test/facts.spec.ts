/**
 * The platform facts file is generated from the stacks' code (scripts/platform-facts.ts) and read
 * by the optimizer; these specs fail while the committed file is stale, and hold the compute
 * layer's Spot weights to the one table of cases the optimizer's tests also read.
 */
import * as assert from "assert";
import * as fs from "fs";
import { SPOT_WEIGHT_CASES, spotWeights } from "../stacks/compute/capacity";
import { committedFacts, FACTS_FILE, platformFacts, renderFacts, toJsonSchema } from "../scripts/contracts/platform-facts";
import { configKeys, schemasFromSource } from "../scripts/contracts/check";

describe("platform facts", () => {
  it("the committed facts file is what the code says (else: npm run contracts -- update)", () => {
    const expected = renderFacts(platformFacts(schemasFromSource()));
    assert.ok(committedFacts() === expected, `${FACTS_FILE} is out of date; run npm run contracts -- update`);
  });

  it("computes every Spot weight case of the shared table", () => {
    const { spot } = JSON.parse(fs.readFileSync(FACTS_FILE, "utf8")) as { spot: { weightCases: typeof SPOT_WEIGHT_CASES } };
    assert.ok(spot.weightCases.length >= 10);
    for (const c of spot.weightCases) {
      assert.deepEqual(spotWeights(c.share), { onDemand: c.onDemand, spot: c.spot }, `share ${c.share}`);
      assert.ok(c.spot / (c.spot + c.onDemand) >= c.share - 1e-9, `share ${c.share}: the weights never run less Spot than asked`);
    }
    assert.deepEqual(
      spot.weightCases.find((c) => c.share === 0.875),
      { share: 0.875, onDemand: 1, spot: 7 },
    );
  });

  it("writes contract schemas as JSON Schema: optional keys not required, nullable keys allow null", () => {
    const schema = toJsonSchema({
      type: "object",
      properties: {
        a: { type: "string" },
        b: { type: "number", optional: true },
        c: { type: "string", nullable: true },
        d: { type: "record", values: { type: "array", items: { type: "boolean" } }, nullable: true },
        e: { type: "unknown", nullable: true },
      },
    });
    assert.deepEqual(schema, {
      type: "object",
      properties: {
        a: { type: "string" },
        b: { type: "number" },
        c: { type: ["string", "null"] },
        e: { anyOf: [{}, { type: "null" }] },
        d: { type: ["object", "null"], additionalProperties: { type: "array", items: { type: "boolean" } } },
      },
      required: ["a", "c", "d", "e"],
    });
  });

  it("lists the config keys each layer reads, also from calls that span lines", () => {
    const keys = configKeys();
    assert.ok(keys.compute.includes("compute:spotShare"));
    assert.ok(keys.network.includes("network:interfaceEndpoints"));
    assert.ok(keys.registry.includes("registry:tier"), "the platform keys every layer reads");
    assert.ok(!keys.registry.includes("registry:spotShare"), "a layer lists only its own keys");
  });

  it("names follow the naming functions and the lock is the optimizer policy's parameter", () => {
    const facts = platformFacts(schemasFromSource()) as {
      naming: { cluster: string; serviceAlarms: Record<string, string> };
      lockParameter: string;
    };
    assert.equal(facts.naming.cluster, "ecs-cluster-{suffix}");
    assert.equal(facts.naming.serviceAlarms.cpuHigh, "cpu-high-{service}-{suffix}");
    assert.equal(facts.lockParameter, "/ecs-optimizer/lock/{cluster}");
  });
});
