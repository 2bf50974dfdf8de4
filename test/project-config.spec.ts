/**
 * The project files and the README as the real Pulumi CLI sees them: no key a user following the
 * README leaves unset may be required, and every command the README shows is run by a test or
 * says why it cannot be.
 */
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { missingRequiredKeys, readmeConfigSets, readmeStacks, requiredKeys } from "./harness/project-config";
import { fill, instanceOf, readmeCommands, README_COMMANDS, sectionCommands, untested } from "./harness/readme-commands";

describe("project config as the real Pulumi CLI reads it", () => {
  it("requires no key that the README's deploy steps leave unset, in any layer", () => {
    assert.deepEqual(missingRequiredKeys(), []);
  });

  it("deploys at least one stack whose example stack files exist", () => {
    const stacks = readmeStacks(readmeCommands());
    assert.ok(stacks.length > 0, "the README shows no scripts/layers.sh up <stack>");
  });

  it("treats a declared key without a default as required, and one with a default as optional", () => {
    const project = [
      "name: network",
      "runtime: nodejs",
      "config:",
      "  vpcCidr:",
      "    type: string",
      "  azCount:",
      "    type: integer",
      "    default: 3",
      "  aws:region:",
      "    type: string",
      "  team: platform",
    ].join("\n");
    assert.deepEqual(requiredKeys(project), ["network:vpcCidr", "aws:region"]);
    assert.deepEqual(requiredKeys("name: network\nruntime: nodejs\n"), []);
  });

  it("fails for a layer whose Pulumi.yaml declares a key the README's stack file does not set", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "project-config-"));
    try {
      fs.mkdirSync(path.join(dir, "network"));
      const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, "network", name), text);
      write("Pulumi.yaml", "name: network\nruntime: nodejs\nconfig:\n  tier:\n    type: string\n  vpcCidr:\n    type: string\n");
      write("Pulumi.dev.yaml", "config:\n  network:tier: dev\n");
      const commands = ["scripts/layers.sh up dev"];
      assert.deepEqual(missingRequiredKeys(commands, dir, ["network"]), [{ layer: "network", stack: "dev", key: "network:vpcCidr" }]);
      // A `pulumi config set` the README shows counts as set.
      const withSet = [...commands, "pulumi config set vpcCidr 10.1.0.0/16 --stack dev --cwd stacks/network"];
      assert.deepEqual(readmeConfigSets(withSet, "network"), ["network:vpcCidr"]);
      assert.deepEqual(missingRequiredKeys(withSet, dir, ["network"]), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("README commands (and the deploy and release pages it links)", () => {
  it("are each run by the real-engine test, or listed with the reason they cannot run here", () => {
    assert.deepEqual(untested(readmeCommands()), []);
  });

  it("include every command the real-engine test runs (so the test runs what the README says)", () => {
    const commands = readmeCommands();
    for (const [name, template] of Object.entries(README_COMMANDS)) {
      assert.ok(
        commands.some((c) => instanceOf(c, template)),
        `${name}: the README no longer shows "${template}"`,
      );
    }
  });

  it("are read from bash blocks and inline code, without comments", () => {
    const readme =
      "## Deploying\n\n```bash\nscripts/layers.sh up dev   # all four\n# a comment\n```\n\nThen `pulumi stack history --stack prod --cwd stacks/compute` and `tier`.\n## Next\n`npm ci`\n";
    assert.deepEqual(sectionCommands(readme, "## Deploying"), [
      "scripts/layers.sh up dev",
      "pulumi stack history --stack prod --cwd stacks/compute",
    ]);
    assert.deepEqual(untested(["scripts/layers.sh up dev", "pulumi stack rm dev"]), ["pulumi stack rm dev"]);
    // A section runs to the next heading of its level or higher, across its subsections and past
    // `# comment` lines in code blocks.
    const page = "# Releasing\n\n```bash\n# tag first\ngit tag v1\n```\n## Rolling back\n`npm run workflows`\n# Next\n`npm ci`\n";
    assert.deepEqual(sectionCommands(page, "# Releasing", "docs/releasing.md"), ["git tag v1", "npm run workflows"]);
    assert.throws(() => sectionCommands(page, "## Missing", "docs/releasing.md"), /docs\/releasing.md has no section "## Missing"/);
    assert.equal(fill(README_COMMANDS.deploy, { stack: "prod" }), "scripts/layers.sh up prod");
    assert.throws(() => fill(README_COMMANDS.deploy, {}), /no value for <stack>/);
  });
});
