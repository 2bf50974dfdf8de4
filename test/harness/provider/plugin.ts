/**
 * Packs the stand-in provider as the `aws` resource plugin at the version `@pulumi/aws` asks for,
 * so the engine starts it exactly where it would start the real `pulumi-resource-aws`.
 */
import * as fs from "fs";
import * as path from "path";

const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");

/** The plugin version the installed `@pulumi/aws` SDK requests (its package.json `pulumi.version`). */
export function awsPluginVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkg = require("@pulumi/aws/package.json") as { pulumi?: { version?: string }; version: string };
  return pkg.pulumi?.version ?? pkg.version;
}

/**
 * Writes `<dir>/pulumi-resource-aws`, a launcher that runs ./main.ts with this checkout's
 * node_modules, and returns the directory to tar for `pulumi plugin install --file`.
 */
export function writePluginLauncher(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const launcher = path.join(dir, "pulumi-resource-aws");
  const tsNode = path.join(REPO_ROOT, "node_modules", "ts-node", "register", "transpile-only");
  const main = path.join(__dirname, "main.ts");
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  fs.writeFileSync(
    launcher,
    [
      "#!/bin/sh",
      "# The stand-in AWS provider of this repository's test harness (test/harness/provider).",
      `TS_NODE_PROJECT=${quote(path.join(REPO_ROOT, "tsconfig.json"))} exec node -r ${quote(tsNode)} ${quote(main)} "$@"`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  return dir;
}
