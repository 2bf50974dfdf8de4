/**
 * The real Pulumi engine for the end-to-end tests: finds the CLI, sets up a private workspace
 * (PULUMI_HOME, a file backend and the passphrase secrets provider, all under build/), installs the
 * stand-in AWS provider as plugin `aws`, starts the local AWS emulator, and runs commands so that
 * nothing they start outlives them.
 */
import { spawn, spawnSync, ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as readline from "readline";
import { awsPluginVersion, writePluginLauncher } from "./provider/plugin";
import { EMULATOR_ENDPOINT_VARIABLE } from "./provider/emulated";
import { MOCK_REGION } from "../../scripts/plan/mock-aws";
import { REPO_ROOT } from "../../scripts/plan/mock-engine";

/**
 * CrossGuard policy packs every `pulumi preview` and `pulumi up` of the end-to-end run enforces:
 * directories, from E2E_POLICY_PACKS (separated by `:`), relative to the repository root.
 */
export const POLICY_PACKS: readonly string[] = (process.env.E2E_POLICY_PACKS ?? "")
  .split(":")
  .filter(Boolean)
  .map((p) => path.resolve(REPO_ROOT, p));

export function policyPackArgs(): string[] {
  return POLICY_PACKS.flatMap((p) => ["--policy-pack", p]);
}

/** The layers whose stack files `ecs-optimizer optimize --write-config` writes. */
export const OPTIMIZED_LAYERS = ["compute", "registry", "observability"] as const;

/**
 * `ecs-optimizer optimize` on a deployed stack (compute outputs read with --stack), fixed policy,
 * writing the applied values back to the three layers' stack files.
 */
export function optimizeArgs(stack: string, journal: string, observabilityOutputs: string, extra: string[] = []): string[] {
  return [
    "optimize",
    "--policy",
    "fixed",
    ...extra,
    "--poll-interval",
    "0.2",
    "--wait-timeout",
    "120",
    "--journal",
    journal,
    ...OPTIMIZED_LAYERS.flatMap((l) => ["--write-config", path.join("stacks", l, `Pulumi.${stack}.yaml`)]),
    "--stack",
    stack,
    "--observability-outputs",
    observabilityOutputs,
  ];
}

/** The no-drift proof: the next update, after a refresh, must change nothing (no separate preview). */
export function noDriftUpArgs(stack: string): string[] {
  return ["up", "--yes", "--skip-preview", "--refresh", "--expect-no-changes", "--stack", stack, ...policyPackArgs()];
}

/** The `pulumi` executable: $PULUMI, else the first on PATH; undefined when there is none. */
export function findPulumi(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.PULUMI) return fs.existsSync(env.PULUMI) ? path.resolve(env.PULUMI) : undefined;
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir, "pulumi");
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Files (and the node_modules link) a copy of the repository needs for the layers and the optimizer. */
const WORKSPACE_ENTRIES = [
  ".github",
  "stacks",
  "scripts",
  "test",
  "package.json",
  "tsconfig.json",
  path.join("optimizer", "ecs_optimizer", "apply", "iam_actions.json"),
];

export class Workspace {
  /** A copy of the repository the commands run in, so stack files written by the run stay out of the checkout. */
  readonly repo: string;
  readonly env: NodeJS.ProcessEnv;
  private emulator?: ChildProcess;

  constructor(
    readonly root: string,
    readonly pulumi: string,
  ) {
    this.repo = path.join(root, "repo");
    const pulumiHome = path.join(root, "pulumi-home");
    const state = path.join(root, "state");
    this.env = {
      ...process.env,
      PATH: [path.dirname(pulumi), path.join(REPO_ROOT, ".venv", "bin"), process.env.PATH].join(path.delimiter),
      PULUMI_HOME: pulumiHome,
      PULUMI_BACKEND_URL: `file://${state}`,
      PULUMI_CONFIG_PASSPHRASE: "end-to-end test passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "1",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_SUPPRESS_COPILOT_LINK: "1",
      NO_COLOR: "1",
      // The emulator accepts any credentials; the optimizer insists on having some.
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
      AWS_REGION: MOCK_REGION,
      AWS_DISABLE_REQUEST_COMPRESSION: "true",
    };
    delete this.env.PULUMI_ACCESS_TOKEN;
    delete this.env.ENVIRONMENT_SUFFIX;
  }

  /** Lays out the copy, the private Pulumi home and state, and installs the stand-in plugin. */
  prepare(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
    for (const dir of ["pulumi-home", "state", "plugin", "repo"]) fs.mkdirSync(path.join(this.root, dir), { recursive: true });
    for (const entry of WORKSPACE_ENTRIES) {
      fs.mkdirSync(path.dirname(path.join(this.repo, entry)), { recursive: true });
      fs.cpSync(path.join(REPO_ROOT, entry), path.join(this.repo, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(this.repo, "node_modules"));
    const launcherDir = writePluginLauncher(path.join(this.root, "plugin"));
    const tarball = path.join(this.root, "pulumi-resource-aws.tar.gz");
    const tar = spawnSync("tar", ["-czf", tarball, "-C", launcherDir, "pulumi-resource-aws"], { encoding: "utf8" });
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
    this.check(this.runSync(this.pulumi, ["plugin", "install", "resource", "aws", awsPluginVersion(), "--file", tarball]));
  }

  /** Starts the local AWS emulator (moto server, 127.0.0.1, a free port); the stand-in provider and the optimizer use it. */
  async startEmulator(): Promise<string> {
    const python = path.join(REPO_ROOT, ".venv", "bin", "python");
    const log = fs.openSync(path.join(this.root, "emulator.log"), "a");
    // The server exits when its stdin closes, so it cannot outlive this process.
    const proc = spawn(python, ["-m", "ecs_optimizer_lab.emulator_server", "--host", "127.0.0.1", "--port", "0"], {
      stdio: ["pipe", "pipe", log],
      env: this.env,
    });
    this.emulator = proc;
    const first = await new Promise<string>((resolve, reject) => {
      const lines = readline.createInterface({ input: proc.stdout! });
      lines.once("line", (line) => resolve(line));
      proc.once("exit", (code) => reject(new Error(`the emulator exited (${code}) before listening; see ${this.root}/emulator.log`)));
    });
    const endpoint = /listening on (\S+)/.exec(first)?.[1];
    if (!endpoint) throw new Error(`unexpected first line from the emulator: ${first}`);
    this.env[EMULATOR_ENDPOINT_VARIABLE] = endpoint;
    this.env.AWS_ENDPOINT_URL = endpoint;
    return endpoint;
  }

  stopEmulator(): void {
    if (this.emulator && this.emulator.exitCode === null) {
      this.emulator.stdin?.end();
      this.emulator.kill("SIGTERM");
    }
  }

  /**
   * Runs a command in its own process group and, when it is done, ends whatever it left in that
   * group (this CLI build leaves its language host running after each preview, up and destroy).
   */
  run(command: string, args: string[], cwd = this.repo, timeoutMs = 900_000): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { cwd, env: this.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      const timer = setTimeout(() => endGroup(child.pid), timeoutMs);
      child.once("error", reject);
      child.once("close", (code) => {
        clearTimeout(timer);
        endGroup(child.pid);
        resolve({ code: code ?? -1, stdout, stderr });
      });
    });
  }

  runSync(command: string, args: string[], cwd = this.repo): RunResult {
    const done = spawnSync(command, args, { cwd, env: this.env, encoding: "utf8" });
    return { code: done.status ?? -1, stdout: done.stdout, stderr: done.stderr };
  }

  /** The result, or an error with the command's last output when it failed. */
  check(result: RunResult, what = "command"): RunResult {
    if (result.code !== 0) {
      throw new Error(`${what} exited ${result.code}:\n${(result.stdout + result.stderr).slice(-6000)}`);
    }
    return result;
  }

  /** `pulumi <args>` in stacks/<layer> of the copy. */
  pulumiIn(layer: string, args: string[]): Promise<RunResult> {
    return this.run(this.pulumi, args, path.join(this.repo, "stacks", layer));
  }
}

function endGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // The group is already empty.
  }
}
