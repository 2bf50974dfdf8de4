/**
 * Which config keys the real Pulumi CLI demands before a program runs: every key a project's
 * `Pulumi.yaml` declares under `config:` without a `default` ("Stack 'dev' is missing
 * configuration values ..."). A user following the README sets the keys in the example stack
 * file of the stack it deploys and the keys its `pulumi config set` commands name; anything
 * else required is a deploy that fails for every new user.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { LAYERS, LayerName } from "../../stacks/shared/tags";
import { REPO_ROOT } from "../../scripts/plan/mock-engine";
import { readmeCommands } from "./readme-commands";

const qualify = (project: string, key: string) => (key.includes(":") ? key : `${project}:${key}`);

/** Fully qualified keys a project file declares without a default. */
export function requiredKeys(projectYaml: string): string[] {
  const project = parse(projectYaml) as { name?: string; config?: Record<string, unknown> } | null;
  if (!project?.name) throw new Error("not a Pulumi project file: no name");
  return (
    Object.entries(project.config ?? {})
      // A bare `key:` (null) or a declaration without a default; a scalar is a default value.
      .filter(([, decl]) => decl === null || (typeof decl === "object" && !("default" in decl)))
      .map(([key]) => qualify(project.name!, key))
  );
}

/** The stacks the README deploys (`scripts/layers.sh up <stack>`). */
export function readmeStacks(commands: string[]): string[] {
  return [...new Set(commands.flatMap((c) => /^scripts\/layers\.sh up (\S+)/.exec(c)?.[1] ?? []))];
}

/** Keys the README's `pulumi config set` commands set, for a layer (`--cwd stacks/<layer>`). */
export function readmeConfigSets(commands: string[], layer: LayerName): string[] {
  return commands.flatMap((c) => {
    const m = /^pulumi config set (?:--path )?(\S+) .*--cwd stacks\/(\w+)/.exec(c);
    return m && m[2] === layer ? [qualify(layer, m[1])] : [];
  });
}

/** Fully qualified keys a stack file sets (none when the file does not exist). */
export function stackFileKeys(file: string): string[] {
  if (!fs.existsSync(file)) return [];
  const doc = parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  return Object.keys(doc?.config ?? {});
}

export interface MissingKey {
  layer: LayerName;
  stack: string;
  key: string;
}

/** Required keys a README user would not have set, per layer and stack the README deploys. */
export function missingRequiredKeys(
  commands: string[] = readmeCommands(),
  stacksDir = path.join(REPO_ROOT, "stacks"),
  layers: readonly LayerName[] = LAYERS,
): MissingKey[] {
  const missing: MissingKey[] = [];
  for (const layer of layers) {
    const required = requiredKeys(fs.readFileSync(path.join(stacksDir, layer, "Pulumi.yaml"), "utf8"));
    for (const stack of readmeStacks(commands)) {
      const set = new Set([...stackFileKeys(path.join(stacksDir, layer, `Pulumi.${stack}.yaml`)), ...readmeConfigSets(commands, layer)]);
      for (const key of required) if (!set.has(key)) missing.push({ layer, stack, key });
    }
  }
  return missing;
}
