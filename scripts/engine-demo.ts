/**
 * `make demo`'s real-engine part, run when a Pulumi CLI is found: the real Pulumi engine deploys
 * the four layers (dev) into the local AWS emulator, through the test harness's stand-in AWS
 * provider; `ecs-optimizer optimize --write-config` runs on what was deployed; a refreshed
 * `pulumi up --expect-no-changes` of compute, registry and observability shows that the next
 * deployment keeps the optimizer's changes; everything is destroyed at the end. Workspace: build/demo-engine (a copy
 * of the repository, its own Pulumi home, a file backend). See docs/real-engine-tests.md.
 */
import * as fs from "fs";
import * as path from "path";
import { findPulumi, noDriftUpArgs, optimizeArgs, RunResult, Workspace } from "../test/harness/engine";
import { REPO_ROOT } from "./plan/mock-engine";
import { fill, README_COMMANDS } from "../test/harness/readme-commands";

const STACK = "dev";

function step(title: string): void {
  console.log(`\n== ${title}`);
}

/** The last lines of a command's output that summarise it (Pulumi's "Resources:" block). */
function summary(result: RunResult): string {
  const lines = result.stdout.trimEnd().split("\n");
  const at = lines.findIndex((l) => l.startsWith("Resources:"));
  return (at >= 0 ? lines.slice(at) : lines.slice(-3)).join("\n");
}

async function main(): Promise<number> {
  const pulumi = findPulumi();
  if (!pulumi) {
    console.log("real-engine demo skipped: no pulumi CLI found (install one, or set PULUMI=/path/to/pulumi)");
    return 0;
  }
  const ws = new Workspace(path.join(REPO_ROOT, "build", "demo-engine"), pulumi);
  step(`Real Pulumi engine (${pulumi}), file backend and stand-in AWS provider in build/demo-engine`);
  ws.prepare();
  console.log(`local AWS emulator at ${await ws.startEmulator()}`);
  const layers = async (command: string, extra: string[]) =>
    ws.check(await ws.run("bash", ["-euo", "pipefail", "-c", [fill(command, { stack: STACK }), ...extra].join(" ")]), command);
  try {
    step(`${fill(README_COMMANDS.deploy, { stack: STACK })}: network, registry, compute, observability`);
    const up = await layers(README_COMMANDS.deploy, ["--skip-preview"]);
    console.log(
      up.stdout
        .split("\n")
        .filter((l) => /^== |^ {4}\+ \d+ created/.test(l))
        .join("\n"),
    );

    step("ecs-optimizer optimize --stack dev --policy fixed --write-config (compute, registry, observability)");
    const observability = ws.check(await ws.pulumiIn("observability", ["stack", "output", "--json", "--stack", STACK]));
    const outputsFile = path.join(ws.root, "observability.json");
    fs.writeFileSync(outputsFile, observability.stdout);
    const optimized = ws.check(
      await ws.run("ecs-optimizer", optimizeArgs(STACK, path.join(ws.root, "journal.jsonl"), outputsFile)),
      "optimize",
    );
    console.log(optimized.stdout.trimEnd());

    step("No drift: pulumi up --refresh --expect-no-changes on compute, registry and observability");
    for (const layer of ["compute", "registry", "observability"]) {
      console.log(`${layer}:\n${summary(ws.check(await ws.pulumiIn(layer, noDriftUpArgs(STACK)), `${layer} up`))}`);
    }
  } finally {
    step(`${fill(README_COMMANDS.destroy, { stack: STACK })}: observability, compute, registry, network`);
    const destroyed = await ws.run("bash", ["-c", `${fill(README_COMMANDS.destroy, { stack: STACK })} --skip-preview`]);
    console.log(destroyed.code === 0 ? "destroyed" : `destroy failed (exit ${destroyed.code}):\n${destroyed.stderr.slice(-2000)}`);
    ws.stopEmulator();
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`real-engine demo failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
