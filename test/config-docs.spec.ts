/**
 * Each config key's default lives once, in the layer's key description (stacks/<layer>/settings.ts):
 * the program reads its defaults from there, and the Pulumi.yaml key list is generated from it
 * (scripts/config-docs.ts). These tests fail when a committed Pulumi.yaml is stale, or when a
 * program reads a key its description does not document.
 */
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { LAYER_CONFIG_DOCS, projectFile, renderConfigDocs, renderProjectFile, staleProjectFiles, STACKS_DIR } from "../scripts/config-docs";
import { computed, ConfigKey, defaultSentence, documentedDescription, fixed, tierDefault } from "../stacks/shared/config-keys";
import { LAYERS } from "../stacks/shared/tags";

/** Names a program reads with a LayerConfig getter (or names in a message with cfg.key) in `source`. */
function keysRead(source: string): string[] {
  const read =
    /\bcfg\.(?:string|oneOf|int|number|bool|cidr|cidrList|stringList|json|stackReference|key)(?:<[^>]*>)?\(\s*"([A-Za-z][A-Za-z0-9]*)"/g;
  return [...source.matchAll(read)].map((m) => m[1]);
}

function layerSources(layer: string): string {
  const dir = path.join(STACKS_DIR, layer);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".ts"));
  // Every layer reads the platform keys through the shared platformSettings.
  return [...files.map((f) => path.join(dir, f)), path.join(STACKS_DIR, "shared", "config.ts")]
    .map((f) => fs.readFileSync(f, "utf8"))
    .join("\n");
}

/** The documented key list, uncommented: the lines after "# Keys" parse as YAML. */
function documentedKeys(projectText: string): Record<string, { type: string; description: string; items?: { type: string } }> {
  const lines = projectText.split("\n");
  const start = lines.findIndex((l) => l.startsWith("# Keys"));
  assert.ok(start > 0, "no '# Keys' line");
  return parse(
    lines
      .slice(start + 1)
      .filter((l) => l.startsWith("#"))
      .map((l) => l.replace(/^# {2}/, ""))
      .join("\n"),
  );
}

describe("config docs in each layer's Pulumi.yaml", () => {
  it("are exactly what npm run config-docs writes from the layers' key descriptions", () => {
    assert.deepEqual(staleProjectFiles(), []);
  });

  for (const layer of LAYERS) {
    it(`${layer}: documents exactly the keys its program reads`, () => {
      const read = [...new Set(keysRead(layerSources(layer)))].sort();
      assert.deepEqual(read, Object.keys(LAYER_CONFIG_DOCS[layer].keys).sort());
    });

    it(`${layer}: the documented list parses as YAML, each description ending in the key's one default`, () => {
      const documented = documentedKeys(fs.readFileSync(projectFile(layer), "utf8"));
      const keys = LAYER_CONFIG_DOCS[layer].keys;
      assert.deepEqual(Object.keys(documented), Object.keys(keys));
      for (const [name, key] of Object.entries(keys)) {
        assert.equal(documented[name].type, key.type, name);
        assert.equal(documented[name].description, documentedDescription(key), name);
        assert.ok(documented[name].description.endsWith(defaultSentence(key)), name);
        assert.equal(documented[name].items?.type, key.type === "array" ? "string" : undefined, name);
      }
    });
  }

  it("states a fixed, per-tier, computed or absent default", () => {
    const key = (d?: ConfigKey["default"]): ConfigKey => ({ type: "integer", description: "Days.", range: { min: 1, max: 9 }, default: d });
    assert.equal(documentedDescription(key(fixed(3))), "Days. From 1 to 9. Defaults to 3.");
    assert.equal(defaultSentence(key(tierDefault({ dev: 7, prod: 30 }))), "Defaults to 7 for dev, 30 for prod.");
    assert.equal(defaultSentence(key(tierDefault({ dev: 5, prod: 5 }))), "Defaults to 5.");
    assert.equal(defaultSentence(key(computed("the stack name"))), "Defaults to the stack name.");
    assert.equal(defaultSentence(key()), "Defaults to unset.");
    assert.equal(defaultSentence({ type: "array", description: "", default: fixed(["a", "b"]) }), "Defaults to [a, b].");
    assert.equal(defaultSentence({ type: "array", description: "", default: fixed([]) }), "Defaults to none.");
  });

  it("regenerates only the comments: the project's YAML, a config: block included, is kept", () => {
    const yamlPart = "name: network\nruntime: nodejs\nconfig:\n  aws:region:\n    default: us-east-1\n";
    const stale = `${yamlPart}# an outdated comment: Defaults to 10.0.0.0/8.\n`;
    const written = renderProjectFile("network", stale);
    assert.equal(written, yamlPart + renderConfigDocs("network"));
    assert.equal(renderProjectFile("network", written), written);
    assert.deepEqual(parse(written).config, { "aws:region": { default: "us-east-1" } });
  });

  it("notices a stale Pulumi.yaml", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "config-docs-"));
    try {
      for (const layer of LAYERS) {
        fs.mkdirSync(path.join(dir, layer));
        fs.copyFileSync(projectFile(layer), projectFile(layer, dir));
      }
      assert.deepEqual(staleProjectFiles(dir), []);
      const file = projectFile("registry", dir);
      fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("Defaults to 10.", "Defaults to 20."));
      assert.deepEqual(staleProjectFiles(dir), ["registry"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
