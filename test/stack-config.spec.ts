/**
 * `npm run plan -- --config-file Pulumi.<stack>.yaml`: a stack file's config reaches the programs
 * as the Pulumi engine hands it over, so the offline plan of a written-back file is what
 * `pulumi up` would deploy (the optimizer's no-drift tests rely on it).
 */
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readStackConfigFile } from "../scripts/plan/planner";

describe("stack config files for the offline plan", () => {
  let dir = "";
  const file = (text: string): string => {
    const p = path.join(dir, `Pulumi.${Math.random().toString(36).slice(2)}.yaml`);
    fs.writeFileSync(p, text);
    return p;
  };

  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-config-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("passes scalars as their text and maps and lists as JSON, as the engine does", () => {
    const config = readStackConfigFile(
      file(
        [
          "# a comment",
          "config:",
          "  aws:region: us-east-1",
          "  compute:spotShare: 0.8",
          '  registry:keepImages: "5"',
          "  compute:blueGreen: false",
          "  compute:services:",
          "    orders: {desiredCount: {dev: 2}}",
          "  registry:services: [orders, billing]",
        ].join("\n"),
      ),
    );
    assert.deepEqual(config, {
      "aws:region": "us-east-1",
      "compute:spotShare": "0.8",
      "registry:keepImages": "5",
      "compute:blueGreen": "false",
      "compute:services": '{"orders":{"desiredCount":{"dev":2}}}',
      "registry:services": '["orders","billing"]',
    });
  });

  it("leaves encrypted values out and says which", () => {
    const skipped: string[] = [];
    const config = readStackConfigFile(file("config:\n  compute:token:\n    secure: v1:abc\n  compute:tier: prod\n"), (k) =>
      skipped.push(k),
    );
    assert.deepEqual(config, { "compute:tier": "prod" });
    assert.deepEqual(skipped, ["compute:token"]);
  });

  it("reads an empty stack file as no config", () => {
    assert.deepEqual(readStackConfigFile(file("")), {});
    assert.deepEqual(readStackConfigFile(file("encryptionsalt: v1:x\n")), {});
  });

  for (const [text, why] of [
    ["config: [a, b]\n", /config: expected a map/],
    ["- a\n", /not a Pulumi stack file/],
    ["config:\n  tier: dev\n", /"tier" is not fully qualified/],
    ["config: {a: [\n", /not a readable YAML file/],
  ] as const) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(() => readStackConfigFile(file(text)), why);
    });
  }
});
