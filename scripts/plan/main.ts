/**
 * `npm run plan -- <layer>|all [--stack NAME] [--tier dev|prod] [--config layer:key=value ...]
 *   [--config-file Pulumi.<stack>.yaml ...] [--out-dir DIR]`
 *
 * Prints what each layer would create and export, offline (no AWS credentials, no Pulumi CLI),
 * and writes build/plan/<layer>.json (or DIR/<layer>.json). Upstream layers run first so stack
 * references carry real exports. `--config-file` reads a stack file's `config:` map as `pulumi up`
 * would (repeatable, one per layer's stack file); `--tier` and `--config` given anywhere on the
 * command line override what the files say.
 */
import * as fs from "fs";
import * as path from "path";
import { LAYERS, LayerName } from "../../stacks/shared/tags";
import { REPO_ROOT } from "./mock-engine";
import { planLayers, readStackConfigFile, renderPlan } from "./planner";

interface PlanArgs {
  target: LayerName | "all";
  stack: string;
  config: Record<string, unknown>;
  configFiles: string[];
  outDir: string;
}

function parseArgs(argv: string[]): PlanArgs {
  let target: LayerName | "all" = "all";
  let stack = "dev";
  let outDir = path.join(REPO_ROOT, "build", "plan");
  const config: Record<string, unknown> = {};
  const configFiles: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--stack") stack = argv[++i];
    else if (arg === "--config-file" || arg === "--out-dir") {
      const value = argv[++i];
      if (!value) throw new Error(`${arg} expects a path`);
      if (arg === "--config-file") configFiles.push(path.resolve(value));
      else outDir = path.resolve(value);
    } else if (arg === "--tier") config.tier = argv[++i];
    else if (arg === "--config") {
      const [key, ...rest] = (argv[++i] ?? "").split("=");
      if (!key || rest.length === 0) throw new Error(`--config expects layer:key=value, got ${argv[i]}`);
      config[key] = rest.join("=");
    } else if (arg === "all" || (LAYERS as readonly string[]).includes(arg)) target = arg as LayerName | "all";
    else
      throw new Error(
        `unknown argument ${arg}: expected a layer (${LAYERS.join(", ")}) or all, --stack, --tier, --config, --config-file, --out-dir`,
      );
  }
  return { target, stack, config, configFiles, outDir };
}

/** The files' config in the order given (a later file wins a key), under the explicit flags. */
function mergedConfig(args: PlanArgs): Record<string, unknown> {
  const fromFiles: Record<string, unknown> = {};
  for (const file of args.configFiles) {
    const skipped = (key: string) => console.error(`${file}: ${key} is encrypted and cannot be read offline; the plan leaves it unset`);
    Object.assign(fromFiles, readStackConfigFile(file, skipped));
  }
  return { ...fromFiles, ...args.config };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { target, stack, outDir } = args;
  const plans = await planLayers(target, { stack, config: mergedConfig(args) });
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
