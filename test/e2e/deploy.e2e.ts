/**
 * The README's deployment loop on the real Pulumi engine (`make e2e`, part of `make test`).
 *
 * A local file backend and the passphrase secrets provider, a stand-in for the AWS provider
 * plugin (test/harness/provider) that keeps what the optimizer touches in a local AWS emulator,
 * and, for each example environment (dev: the default catalog; prod: the twelve-service
 * catalog of stacks/compute/Pulumi.prod.yaml):
 *
 * 1. `scripts/layers.sh up <stack>`: the command "Deploying with `pulumi up`" shows;
 * 2. every layer's `pulumi stack output --json` fits its contract.json; every deployed service
 *    (read back with DescribeServices) watches its guard alarms with rollback on, the alarms
 *    exist, and so does the task-stop log group the compute outputs name;
 * 3. `ecs-optimizer optimize --stack <stack> --write-config` (three stack files) changes the
 *    fleet in the emulator;
 * 4. no drift: `pulumi up --refresh --expect-no-changes` of compute, registry and observability;
 * 5. `export-config --journal`'s `pulumi config set --path` commands, run with the real CLI on
 *    the pristine stack files, read back (`pulumi config --json`) as what --write-config wrote;
 * 6. the README's release commands: redeploying a tag, `stack history`, `stack export --file`,
 *    `stack import --file`, `npm run contracts -- update`, setting a stack reference;
 * 7. `scripts/layers.sh destroy <stack>`: every stack is left empty, and so is the emulator;
 * 8. (dev) a consumer's preview against the destroyed upstream stacks fails saying once, per
 *    upstream, to deploy it first.
 */
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { validateValue, readContract } from "../../scripts/contracts/check";
import { findPulumi, noDriftUpArgs, optimizeArgs, OPTIMIZED_LAYERS, policyPackArgs, Workspace } from "../harness/engine";
import { REPO_ROOT } from "../../scripts/plan/mock-engine";
import { fill, README_COMMANDS, ReadmeCommand } from "../harness/readme-commands";
import { LAYERS } from "../../stacks/shared/tags";
import { ComputeContract } from "../../stacks/shared/contracts";
import { EMULATOR_ENDPOINT_VARIABLE, emulatorClients } from "../harness/provider/emulated";
import { MOCK_REGION } from "../../scripts/plan/mock-aws";
import { DescribeServicesCommand } from "@aws-sdk/client-ecs";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";

/** The example environments: stack name -> optimize options. */
const ENVIRONMENTS: Record<string, string[]> = {
  dev: ["--spot-share", "0.8"],
  prod: ["--spot-share", "0.875", "--keep-images", "4"],
};

const pulumi = findPulumi();

describe("the README's pulumi up loop on the real engine", function () {
  this.timeout(1_200_000);
  if (!pulumi) {
    it("needs the pulumi CLI (make e2e says how to get one)", function () {
      this.skip();
    });
    return;
  }
  const ws = new Workspace(path.join(REPO_ROOT, "build", "e2e"), pulumi);

  before(async () => {
    ws.prepare();
    await ws.startEmulator();
  });
  after(() => ws.stopEmulator());

  /** A README command (test/harness/readme-commands.ts) filled in and run with bash in the copy, with extra arguments appended. */
  const readme = async (name: ReadmeCommand, values: Record<string, string>, extra: string[] = []) =>
    ws.check(await ws.run("bash", ["-euo", "pipefail", "-c", [fill(README_COMMANDS[name], values), ...extra].join(" ")]), name);
  const stackFile = (layer: string, stack: string) => path.join(ws.repo, "stacks", layer, `Pulumi.${stack}.yaml`);
  const configJson = async (layer: string, stack: string) =>
    JSON.parse(ws.check(await ws.pulumiIn(layer, ["config", "--json", "--stack", stack]), `pulumi config (${layer})`).stdout);

  it("regenerates contracts and workflows with the README's commands, which find nothing to change in a released tree", async () => {
    const generated = [
      ...LAYERS.map((l) => path.join(ws.repo, "stacks", l, "contract.json")),
      ...fs.readdirSync(path.join(ws.repo, ".github", "workflows")).map((f) => path.join(ws.repo, ".github", "workflows", f)),
    ];
    const before = generated.map((f) => fs.readFileSync(f, "utf8"));
    await readme("updateContracts", {});
    await readme("regenerateWorkflows", {});
    assert.deepEqual(
      generated.map((f) => fs.readFileSync(f, "utf8")),
      before,
    );
  });

  for (const [stack, optimizeOptions] of Object.entries(ENVIRONMENTS)) {
    describe(`the ${stack} environment`, () => {
      const pristine: Record<string, string> = {};
      let journal = "";

      it("deploys every layer with scripts/layers.sh up, as the README shows", async () => {
        // The preview before each update would only repeat the program run: skipped to save time.
        await readme("deploy", { stack }, ["--skip-preview", ...policyPackArgs()]);
        for (const layer of OPTIMIZED_LAYERS) pristine[layer] = fs.readFileSync(stackFile(layer, stack), "utf8");
      });

      if (stack === "dev") {
        it("previews every layer with no changes after the deployment", async () => {
          await readme("previewNoChanges", { stack }, policyPackArgs());
        });
      }

      it("exports outputs that fit each layer's contract", async () => {
        for (const layer of LAYERS) {
          const out = await readme("outputs", { stack, layer });
          const contract = readContract(layer);
          assert.ok(contract, `stacks/${layer}/contract.json is missing`);
          const outputs = JSON.parse(out.stdout);
          assert.deepEqual(validateValue(contract.schema, outputs), [], `${layer} outputs do not fit its contract`);
          assert.equal(outputs.contractVersion, contract.contractVersion);
        }
      });

      it("deploys every service guarded by its alarms, with rollback on, and the task-stop log group, as the emulator reads them back", async () => {
        const compute: ComputeContract = JSON.parse((await readme("outputs", { stack, layer: "compute" })).stdout);
        const aws = emulatorClients(MOCK_REGION, ws.env[EMULATOR_ENDPOINT_VARIABLE]);
        const services = Object.values(compute.services);
        const live = new Map<string, Record<string, any>>();
        // DescribeServices takes at most ten services per call.
        for (let i = 0; i < services.length; i += 10) {
          const names = services.slice(i, i + 10).map((s) => s.serviceName);
          const out = await aws.ecs.send(new DescribeServicesCommand({ cluster: compute.clusterName, services: names }));
          for (const svc of out.services ?? []) live.set(svc.serviceName!, svc);
        }
        for (const svc of services) {
          const alarms = live.get(svc.serviceName)?.deploymentConfiguration?.alarms;
          assert.ok(svc.deploymentAlarmNames.length > 0, `${svc.serviceName} exports no guard alarm`);
          assert.deepEqual(alarms, { alarmNames: svc.deploymentAlarmNames, enable: true, rollback: true }, svc.serviceName);
        }
        const guards = services.flatMap((s) => s.deploymentAlarmNames);
        const found: string[] = [];
        for (let i = 0; i < guards.length; i += 100) {
          const out = await aws.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: guards.slice(i, i + 100) }));
          found.push(...(out.MetricAlarms ?? []).map((a) => a.AlarmName!));
        }
        assert.deepEqual(found.sort(), [...guards].sort(), "every guard alarm a service watches exists");
        const groups = await aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: compute.taskStopLogGroupName }));
        const group = groups.logGroups?.find((g) => g.logGroupName === compute.taskStopLogGroupName);
        assert.ok(group, `${compute.taskStopLogGroupName} is not in the emulator`);
        assert.equal(group.retentionInDays, stack === "prod" ? 90 : 14);
        assert.ok(group.kmsKeyId, "the task-stop log group is encrypted");
      });

      it("optimizes the deployed fleet and writes the stack files back", async () => {
        const obs = ws.check(await ws.pulumiIn("observability", ["stack", "output", "--json", "--stack", stack]));
        const obsFile = path.join(ws.root, `observability-${stack}.json`);
        fs.writeFileSync(obsFile, obs.stdout);
        journal = path.join(ws.root, `journal-${stack}.jsonl`);
        const result = ws.check(
          await ws.run("ecs-optimizer", [...optimizeArgs(stack, journal, obsFile, optimizeOptions), "--format", "json"]),
          "ecs-optimizer optimize",
        );
        const report = JSON.parse(result.stdout);
        assert.ok(JSON.stringify(report).length > 2);
        // Each optimized layer's file gained keys, and the run changed the fleet.
        for (const layer of OPTIMIZED_LAYERS) {
          assert.notEqual(fs.readFileSync(stackFile(layer, stack), "utf8"), pristine[layer], `${layer}: --write-config wrote nothing`);
        }
      });

      it("shows no drift on the real engine: the next pulumi up of every optimized layer changes nothing", async () => {
        // Independent stacks first, both at once; then observability, which reads compute's outputs.
        // No separate preview: --expect-no-changes fails the update itself. The dashboard names its
        // alarms by ARN rather than copying their thresholds, so retuned alarms change nothing there.
        const runs = await Promise.all(["compute", "registry"].map((layer) => ws.pulumiIn(layer, noDriftUpArgs(stack))));
        runs.forEach((run, i) => ws.check(run, `pulumi up --refresh --expect-no-changes (${["compute", "registry"][i]})`));
        ws.check(await ws.pulumiIn("observability", noDriftUpArgs(stack)), "pulumi up --refresh --expect-no-changes (observability)");
      });

      it("export-config's pulumi config set commands, run with the real CLI, give what --write-config wrote", async () => {
        const written: Record<string, unknown> = {};
        for (const layer of OPTIMIZED_LAYERS) written[layer] = await configJson(layer, stack);
        const commands = ws.check(await ws.run("ecs-optimizer", ["export-config", "--journal", journal]), "export-config").stdout;
        assert.match(commands, /^pulumi config set --path /m);
        const writtenFiles = OPTIMIZED_LAYERS.map((l) => [l, fs.readFileSync(stackFile(l, stack), "utf8")] as const);
        try {
          for (const layer of OPTIMIZED_LAYERS) fs.writeFileSync(stackFile(layer, stack), pristine[layer]);
          ws.check(await ws.run("bash", ["-euo", "pipefail", "-c", commands]), "export-config commands");
          for (const layer of OPTIMIZED_LAYERS) {
            assert.deepEqual(await configJson(layer, stack), written[layer], `${layer}: export-config and --write-config disagree`);
          }
        } finally {
          for (const [layer, text] of writtenFiles) fs.writeFileSync(stackFile(layer, stack), text);
        }
      });

      if (stack === "dev") {
        it("redeploys a release tag with the README's roll-back command, changing nothing", async () => {
          const git = (args: string[]) => ws.run("git", ["-c", "user.name=e2e", "-c", "user.email=e2e@localhost", ...args]);
          if (!fs.existsSync(path.join(ws.repo, ".git"))) ws.check(await git(["init", "-q"]));
          ws.check(await git(["add", "-A"]));
          ws.check(await git(["commit", "-q", "--allow-empty", "-m", `release ${stack}`]));
          ws.check(await git(["tag", `release-${stack}`]));
          // Non-interactive: --yes; the release is what is deployed, so nothing may change.
          await readme("rollBack", { tag: `release-${stack}`, layer: "compute", stack }, [
            "--yes",
            "--skip-preview",
            "--expect-no-changes",
            ...policyPackArgs(),
          ]);
        });
      }

      if (stack === "prod") {
        it("runs the README's state recovery commands: stack history, stack export --file, stack import --file", async () => {
          const history = await readme("history", {});
          assert.match(history.stdout, /update/i);
          await readme("exportState", {});
          // --cwd applies to --file too: the backup lands in stacks/compute.
          const backup = path.join(ws.repo, "stacks", "compute", "compute-prod.json");
          const before = JSON.parse(fs.readFileSync(backup, "utf8")).deployment.resources.length;
          await readme("importState", {});
          const after = JSON.parse(ws.check(await ws.pulumiIn("compute", ["stack", "export", "--stack", stack])).stdout);
          assert.equal(after.deployment.resources.length, before);
        });
      }

      it("destroys in reverse order with scripts/layers.sh destroy, leaving every stack empty", async () => {
        await readme("destroy", { stack }, ["--skip-preview"]);
        for (const layer of LAYERS) {
          const state = JSON.parse(ws.check(await ws.pulumiIn(layer, ["stack", "export", "--stack", stack])).stdout);
          assert.deepEqual(state.deployment?.resources ?? [], [], `${layer}/${stack} still has resources`);
        }
      });

      if (stack === "dev") {
        it("says once, in a consumer's preview, to deploy each upstream stack that was destroyed", async () => {
          const preview = await ws.pulumiIn("compute", ["preview", "--stack", stack, "--non-interactive"]);
          assert.notEqual(preview.code, 0, "compute previewed against destroyed upstream stacks");
          // The engine shows an error twice: where it happens, and in the Diagnostics summary.
          const diagnostics = preview.stdout.slice(preview.stdout.indexOf("Diagnostics:"));
          for (const upstream of ["network", "registry"]) {
            const message: string = `stack organization/${upstream}/${stack} (${upstream} layer) exports no contractVersion, so it was never deployed or was destroyed: deploy stacks/${upstream} first`;
            assert.equal(diagnostics.split(`error: ${message}`).length - 1, 1, `${upstream}:\n${diagnostics}`);
            assert.equal((preview.stdout + preview.stderr).split(message).length - 1, 2, `${upstream}:\n${preview.stdout}`);
          }
        });
      }

      if (stack === "prod") {
        it("sets a stack reference as the README shows for Pulumi Cloud", async () => {
          await readme("setReference", {});
          const value = ws.check(await ws.pulumiIn("compute", ["config", "get", "networkStack", "--stack", "prod"])).stdout.trim();
          assert.equal(value, "acme/network/prod");
        });
      }
    });
  }
});
