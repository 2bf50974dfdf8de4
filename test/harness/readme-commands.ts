/**
 * The commands README.md shows in "Deploying with `pulumi up`" and "Releasing a layer", as
 * templates (`<stack>`, `<layer>`, `<tag>` are placeholders). The real-engine test
 * (test/e2e/deploy.e2e.ts) runs them from here, and test/readme-commands.spec.ts fails when the
 * README shows a command that is in neither list below, so the README and the test cannot drift.
 */
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../../scripts/plan/mock-engine";

export const README_SECTIONS = ["## Deploying with `pulumi up`", "## Releasing a layer"] as const;

/** Commands the real-engine test runs, by the name it uses for them. */
export const README_COMMANDS = {
  deploy: "scripts/layers.sh up <stack>",
  previewNoChanges: "scripts/layers.sh preview <stack> --expect-no-changes",
  outputs: "pulumi stack output --json --stack <stack> --cwd stacks/<layer>",
  destroy: "scripts/layers.sh destroy <stack>",
  setReference: "pulumi config set networkStack acme/network/prod --stack prod --cwd stacks/compute",
  rollBack: "git checkout <tag> -- stacks/<layer> && pulumi up --stack <stack> --cwd stacks/<layer>",
  history: "pulumi stack history --stack prod --cwd stacks/compute",
  exportState: "pulumi stack export --file compute-prod.json --stack prod --cwd stacks/compute",
  importState: "pulumi stack import --file compute-prod.json --stack prod --cwd stacks/compute",
  updateContracts: "npm run contracts -- update",
  regenerateWorkflows: "npm run workflows",
} as const;

export type ReadmeCommand = keyof typeof README_COMMANDS;

/** Commands the README shows that no test runs here, each with the reason. */
export const NOT_RUN: Record<string, string> = {
  "npm ci": "run by make deps, the first step of make test",
  "make test": "the command that runs these tests (CI's .ci/run)",
  "pulumi login": "Pulumi Cloud needs an account and the internet",
  "pulumi login s3://my-state-bucket?region=us-east-1&awssdk=v2": "needs an S3 bucket in AWS",
  "pulumi stack export --version N": "only Pulumi Cloud keeps past versions; the file backend refuses it",
};

/** Pulumi commands the README names in prose; scripts/layers.sh runs each of them. */
export const NAMED_IN_PROSE = ["pulumi up", "pulumi preview", "pulumi destroy"];

/** A template filled in: `{stack: "dev"}` replaces `<stack>`. */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/<(\w+)>/g, (whole, key: string) => {
    if (!(key in values)) throw new Error(`no value for ${whole} in: ${template}`);
    return values[key];
  });
}

/** Whether a command as the README shows it is an instance of a template. */
export function instanceOf(command: string, template: string): boolean {
  const escaped = template.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/<\w+>/g, "\\S+");
  return new RegExp(`^${escaped}$`).test(command) || command === template;
}

const COMMAND_WORDS = /^(pulumi|scripts\/|npm|git|make|ecs-optimizer)\b/;

/** The commands shown in a README section: lines of its bash blocks and inline code that starts with a command. */
export function sectionCommands(readme: string, heading: string): string[] {
  const start = readme.indexOf(`${heading}\n`);
  if (start < 0) throw new Error(`README.md has no section "${heading}"`);
  const next = readme.indexOf("\n## ", start + heading.length);
  const body = readme.slice(start, next < 0 ? undefined : next);
  const commands: string[] = [];
  const withoutBlocks = body.replace(/```bash\n([\s\S]*?)```/g, (_, block: string) => {
    for (const raw of block.split("\n")) {
      const line = raw.replace(/\s+#.*$/, "").trim();
      if (line && !line.startsWith("#")) commands.push(line.replace(/\s+/g, " "));
    }
    return "";
  });
  for (const match of withoutBlocks.matchAll(/`([^`\n]+)`/g)) {
    const code = match[1].trim();
    if (COMMAND_WORDS.test(code) && code.includes(" ")) commands.push(code.replace(/\s+/g, " "));
  }
  return commands;
}

export function readmeCommands(readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8")): string[] {
  return README_SECTIONS.flatMap((h) => sectionCommands(readme, h));
}

/** README commands that are neither run by a test nor listed as not runnable here. */
export function untested(commands: string[]): string[] {
  const templates = Object.values(README_COMMANDS);
  return commands.filter((c) => !templates.some((t) => instanceOf(c, t)) && !(c in NOT_RUN) && !NAMED_IN_PROSE.includes(c));
}
