import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CONTRACT_VERSIONS } from "../stacks/shared/contracts";
import { LAYERS, LayerName } from "../stacks/shared/tags";
import {
  breakingChanges,
  checkContracts,
  consumerReads,
  CONTRACTS_SOURCE,
  ContractFile,
  layerSourceFiles,
  readContract,
  schemasFromSource,
  validateValue,
} from "../scripts/contracts/check";
import { planLayers } from "../scripts/plan/planner";

function committedContracts(): Partial<Record<LayerName, ContractFile>> {
  return Object.fromEntries(LAYERS.map((l) => [l, readContract(l)]));
}

/** A copy of contracts.ts with one edit, to play a producer's change. */
function editedSource(edit: (src: string) => string): string {
  const src = fs.readFileSync(CONTRACTS_SOURCE, "utf8");
  const changed = edit(src);
  assert.notEqual(changed, src, "the fixture edit did not apply");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "contracts-"));
  const file = path.join(dir, "contracts.ts");
  fs.writeFileSync(file, changed);
  return file;
}

describe("layer contracts", () => {
  it("the committed contracts match the interfaces, the real exports and every consumer read", async () => {
    const plans = await planLayers("all");
    const result = checkContracts({
      schemas: schemasFromSource(),
      versions: { ...CONTRACT_VERSIONS },
      committed: committedContracts(),
      reads: consumerReads(layerSourceFiles()),
      exports: Object.fromEntries(plans.map((p) => [p.layer, p.outputs])),
    });
    assert.deepEqual(result.errors, [], `contract check failed:\n${result.errors.join("\n")}`);
  });

  it("finds the consumers' reads of upstream keys", () => {
    const reads = consumerReads(layerSourceFiles());
    const layersRead = new Set(reads.map((r) => r.layer));
    for (const layer of layersRead) assert.ok(LAYERS.includes(layer));
    if (fs.existsSync(path.join(__dirname, "..", "stacks", "compute", "index.ts"))) {
      assert.ok(
        reads.some((r) => r.layer === "network"),
        "compute reads the network layer",
      );
    }
  });

  it("fails when a producer drops a key without a version bump", () => {
    const source = editedSource((s) => s.replace(/\n\s*vpcCidr: string;/, "\n"));
    const result = checkContracts({
      schemas: schemasFromSource(source),
      versions: { ...CONTRACT_VERSIONS },
      committed: committedContracts(),
      reads: [],
    });
    assert.ok(
      result.errors.some((e) => /^network: vpcCidr removed \(or renamed\) without a contractVersion bump/.test(e)),
      result.errors.join("\n"),
    );
  });

  it("fails when a producer retypes a key, and accepts it with a bump (as an update)", () => {
    const source = editedSource((s) => s.replace(/natGatewayCount: number;/, "natGatewayCount: string;"));
    const schemas = schemasFromSource(source);
    const same = checkContracts({ schemas, versions: { ...CONTRACT_VERSIONS }, committed: committedContracts(), reads: [] });
    assert.ok(
      same.errors.some((e) => /network: natGatewayCount retyped number -> string without a contractVersion bump/.test(e)),
      same.errors.join("\n"),
    );
    const bumped = checkContracts({
      schemas,
      versions: { ...CONTRACT_VERSIONS, network: CONTRACT_VERSIONS.network + 1 },
      committed: committedContracts(),
      reads: [],
    });
    assert.ok(!bumped.errors.some((e) => /without a contractVersion bump/.test(e)));
    assert.ok(bumped.errors.some((e) => /network: .*contract.json is out of date/.test(e)));
    assert.equal(bumped.updated.find((f) => f.layer === "network")?.contractVersion, CONTRACT_VERSIONS.network + 1);
  });

  it("fails when a consumer reads a key the producer does not export", () => {
    const result = checkContracts({
      schemas: schemasFromSource(),
      versions: { ...CONTRACT_VERSIONS },
      committed: committedContracts(),
      reads: [{ file: "stacks/compute/index.ts", line: 7, layer: "network", key: "natGatewayIds" }],
    });
    assert.ok(
      result.errors.includes("stacks/compute/index.ts:7 reads 'natGatewayIds' from the network layer, whose contract has no such key"),
      result.errors.join("\n"),
    );
  });

  it("fails when a layer's real exports do not fit its contract", () => {
    const schema = schemasFromSource().registry;
    const errors = validateValue(schema, {
      contractVersion: 1,
      environmentSuffix: "dev",
      repositories: { frontend: { name: "frontend-dev", url: 3, arn: "a" } },
      ecrPublicCache: null,
    });
    assert.deepEqual(errors, ["repositories.frontend.url is number, expected string", "repositories.frontend.keepImages is missing"]);
  });

  it("treats additions as compatible and loosening as breaking", () => {
    const before = schemasFromSource().network;
    const added = schemasFromSource(
      editedSource((s) => s.replace("flowLogGroupName: string;", "flowLogGroupName: string;\n  extraKey: string;")),
    ).network;
    assert.deepEqual(breakingChanges(before, added), []);
    const loosened = schemasFromSource(editedSource((s) => s.replace("albDnsName: string;", "albDnsName?: string | null;"))).network;
    assert.deepEqual(breakingChanges(before, loosened), ["albDnsName may now be null", "albDnsName became optional"]);
  });
});
