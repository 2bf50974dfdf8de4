/**
 * `npm run contracts -- check|update`: the layer contract check (see check.ts)
 * and the platform facts file (see platform-facts.ts).
 * `check` prints every breaking or unreleased change, and a stale facts file, and exits 1;
 * `update` rewrites the committed stacks/<layer>/contract.json files and
 * optimizer/ecs_optimizer/core/platform_facts.json after a reviewed change (it refuses breaking changes
 * that lack a contractVersion bump).
 */
import * as path from "path";
import { CONTRACT_VERSIONS } from "../../stacks/shared/contracts";
import { LAYERS, LayerName } from "../../stacks/shared/tags";
import { checkContracts, consumerReads, ContractFile, layerSourceFiles, readContract, schemasFromSource, writeContracts } from "./check";
import { planLayers } from "../plan/planner";
import { committedFacts, FACTS_FILE, platformFacts, renderFacts, writeFacts } from "./platform-facts";

async function main(mode: string): Promise<number> {
  if (mode !== "check" && mode !== "update") throw new Error(`usage: npm run contracts -- check|update (got ${mode})`);
  const committed: Partial<Record<LayerName, ContractFile>> = {};
  for (const layer of LAYERS) committed[layer] = readContract(layer);
  const plans = await planLayers("all");
  const schemas = schemasFromSource();
  const facts = platformFacts(schemas);
  const result = checkContracts({
    schemas,
    versions: { ...CONTRACT_VERSIONS },
    committed,
    reads: consumerReads(layerSourceFiles()),
    exports: Object.fromEntries(plans.map((p) => [p.layer, p.outputs])),
  });
  if (committedFacts() !== renderFacts(facts))
    result.errors.push(`${path.relative(process.cwd(), FACTS_FILE)} is out of date; run npm run contracts -- update`);
  const blocking = result.errors.filter((e) => mode === "check" || !/out of date|no committed contract/.test(e));
  for (const e of blocking) console.error(`contract: ${e}`);
  if (mode === "update" && blocking.length === 0) {
    writeContracts(result.updated);
    for (const f of result.updated) console.log(`wrote stacks/${f.layer}/contract.json (version ${f.contractVersion})`);
    writeFacts(facts);
    console.log(`wrote ${path.relative(process.cwd(), FACTS_FILE)}`);
  }
  if (blocking.length === 0) console.log("contracts: ok");
  return blocking.length ? 1 : 0;
}

main(process.argv[2] ?? "check").then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`contracts failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
