/**
 * The CI workflows are generated from one layer graph (scripts/workflows.ts): the committed files
 * must be what the generator writes, and the graph must be the one the layer programs implement.
 */
import * as assert from "node:assert/strict";
import * as path from "path";
import { consumerReads, layerSourceFiles } from "../scripts/contracts/check";
import { LAYERS, LayerName } from "../stacks/shared/tags";
import { CHECK_ONLY_PATHS, dependents, LAYER_GRAPH, renderWorkflows, staleWorkflows, upstream } from "../scripts/workflows";

describe("CI workflows", () => {
  it("are exactly what scripts/workflows.ts writes (run npm run workflows after changing it)", () => {
    assert.deepEqual(staleWorkflows(), []);
  });

  it("take the layer graph from what the programs read through their stack references", () => {
    const reads = new Map<LayerName, Set<LayerName>>(LAYERS.map((l) => [l, new Set<LayerName>()]));
    for (const read of consumerReads(layerSourceFiles())) {
      const consumer = path.relative(path.join(__dirname, "..", "stacks"), read.file).split(path.sep)[0] as LayerName;
      if (LAYERS.includes(consumer) && consumer !== read.layer) reads.get(consumer)!.add(read.layer);
    }
    for (const layer of LAYERS) {
      assert.deepEqual([...LAYER_GRAPH[layer].reads].sort(), [...reads.get(layer)!].sort(), `${layer} reads`);
    }
  });

  it("preview a layer and everything downstream of it, and deploy in dependency order", () => {
    assert.deepEqual(dependents("network"), ["network", "compute", "observability"]);
    assert.deepEqual(dependents("registry"), ["registry", "compute", "observability"]);
    assert.deepEqual(dependents("observability"), ["observability"]);
    assert.deepEqual(upstream("observability"), ["network", "registry", "compute"]);
    const files = renderWorkflows();
    assert.match(files["pr-registry.yml"], /layer: \[registry, compute, observability\]/);
    assert.match(files["release.yml"], /observability:\n {4}needs: \[changes, network, registry, compute\]/);
  });

  it("run the checks for every path a pull request can touch", () => {
    const files = renderWorkflows();
    assert.match(files["pr-compute.yml"], /- optimizer\/ecs_optimizer\/apply\/iam_actions.json/);
    for (const p of ["optimizer/**", "test/**", "scripts/**", "Makefile"]) {
      assert.ok(CHECK_ONLY_PATHS.includes(p), p);
      assert.ok(files["pr-checks.yml"].includes(`- ${p}\n`), `pr-checks.yml does not cover ${p}`);
    }
    for (const [name, text] of Object.entries(files)) {
      if (name.startsWith("pr-")) assert.match(text, /curl -fsSL https:\/\/get.pulumi.com/, `${name} installs no Pulumi CLI for make test`);
    }
  });
});
