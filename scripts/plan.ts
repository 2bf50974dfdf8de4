/**
 * `npm run plan -- <layer>|all [--stack NAME] [--tier dev|prod] [--config layer:key=value ...]`
 *
 * Prints what each layer would create and export, offline (no AWS credentials, no Pulumi CLI),
 * and writes build/plan/<layer>.json. Upstream layers run first so stack references carry real
 * exports.
 */
import * as fs from "fs";
import * as path from "path";
import { LAYERS, LayerName } from "../stacks/shared/tags";
import { REPO_ROOT } from "../test/harness";
import { planLayers, renderPlan } from "../test/harness/plan";

function parseArgs(argv: string[]): { target: LayerName | "all"; stack: string; config: Record<string, unknown> } {
  let target: LayerName | "all" = "all";
  let stack = "dev";
  const config: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--stack") stack = argv[++i];
    else if (arg === "--tier") config.tier = argv[++i];
    else if (arg === "--config") {
      const [key, ...rest] = (argv[++i] ?? "").split("=");
      if (!key || rest.length === 0) throw new Error(`--config expects layer:key=value, got ${argv[i]}`);
      config[key] = rest.join("=");
    } else if (arg === "all" || (LAYERS as readonly string[]).includes(arg)) target = arg as LayerName | "all";
    else throw new Error(`unknown argument ${arg}: expected a layer (${LAYERS.join(", ")}) or all, --stack, --tier, --config`);
  }
  return { target, stack, config };
}

async function main(): Promise<void> {
  const { target, stack, config } = parseArgs(process.argv.slice(2));
  const plans = await planLayers(target, { stack, config });
  const outDir = path.join(REPO_ROOT, "build", "plan");
  fs.mkdirSync(outDir, { recursive: true });
  for (const plan of plans) {
    if (target !== "all" && plan.layer !== target) continue;
    console.log(renderPlan(plan) + "\n");
    fs.writeFileSync(path.join(outDir, `${plan.layer}.json`), JSON.stringify(plan, null, 2) + "\n");
  }
  console.log(`plan JSON written to ${path.relative(process.cwd(), outDir) || "."}/`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`plan failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
