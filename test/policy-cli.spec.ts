/**
 * The policy pack through the real Pulumi engine: `pulumi preview --policy-pack policy` on
 * test/policy-smoke fails, reporting each bad resource under its policy and no good one. Needs the
 * Pulumi CLI and its Node.js language host on PATH; without them the spec is skipped (the mock
 * harness still runs every rule in test/policy.spec.ts).
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../scripts/plan/mock-engine";

const PROGRAM = path.join(REPO_ROOT, "test", "policy-smoke");
const PACK = path.join(REPO_ROOT, "policy");

function pulumiOnPath(): boolean {
  return spawnSync("pulumi", ["version"], { encoding: "utf8" }).status === 0;
}

describe("policy pack through the real Pulumi engine", function () {
  let home = "";
  let output = "";
  let status: number | null = null;

  before(function () {
    if (!pulumiOnPath()) this.skip();
    home = fs.mkdtempSync(path.join(os.tmpdir(), "policy-smoke-"));
    const env = {
      ...process.env,
      PULUMI_HOME: path.join(home, "home"),
      PULUMI_BACKEND_URL: `file://${path.join(home, "state")}`,
      PULUMI_CONFIG_PASSPHRASE: "policy-smoke",
      PULUMI_SKIP_UPDATE_CHECK: "1",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    fs.mkdirSync(path.join(home, "state"));
    const run = (args: string[]) => spawnSync("pulumi", args, { cwd: PROGRAM, env, encoding: "utf8", timeout: 240_000 });
    const init = run(["stack", "init", "smoke", "--non-interactive"]);
    assert.equal(init.status, 0, init.stderr);
    const preview = run(["preview", "--non-interactive", "--stack", "smoke", "--policy-pack", PACK]);
    output = preview.stdout + preview.stderr;
    status = preview.status;
  });

  after(() => {
    if (home) fs.rmSync(home, { recursive: true, force: true });
    // `stack init` writes the stack's passphrase salt next to the program.
    fs.rmSync(path.join(PROGRAM, "Pulumi.smoke.yaml"), { force: true });
  });

  it("fails the preview", () => assert.notEqual(status, 0, output));

  for (const [policy, resource, detail] of [
    ["kms-keys", "bad-key", "key rotation is off"],
    ["kms-keys", "bad-key", "no explicit key policy"],
    ["alb-https-only", "bad-listener", "plain HTTP listener on port 80 serves traffic instead of redirecting to HTTPS"],
    ["alb-access-logs", "bad-alb", "access logs are off"],
    ["alb-waf", "bad-alb", "no WAF web ACL is associated"],
  ]) {
    it(`${policy} reports ${resource}: ${detail}`, () => {
      const block = new RegExp(`\\[mandatory\\]\\s+${policy}\\s+\\([^)]*: ${resource}\\)\\n[^\\n]*\\n\\s*${detail}`);
      assert.match(output, block);
    });
  }

  it("reports no good resource under the policies checked here", () => {
    for (const policy of ["kms-keys", "alb-https-only", "alb-access-logs", "alb-waf"]) {
      assert.doesNotMatch(output, new RegExp(`\\[mandatory\\]\\s+${policy}\\s+\\([^)]*: good-`), policy);
    }
  });
});
