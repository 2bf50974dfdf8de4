/**
 * The commands the deploy and release documentation shows, as templates (`<stack>`, `<layer>`,
 * `<tag>` are placeholders): README.md's "Deploying with `pulumi up`", the stack references and
 * backends of docs/layers.md, and docs/releasing.md. The real-engine test (test/e2e/deploy.e2e.ts)
 * runs them from here, and test/project-config.spec.ts fails when one of those sections shows a
 * command that is in neither list below, so the documentation and the test cannot drift.
 */
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../../scripts/plan/mock-engine";

/** A documentation section: the file (from the repository root) and its heading line. */
export interface DocSection {
  file: string;
  heading: string;
}

export const README_SECTIONS: readonly DocSection[] = [
  { file: "README.md", heading: "## Deploying with `pulumi up`" },
  { file: "docs/layers.md", heading: "## Stacks, references and backends" },
  { file: "docs/releasing.md", heading: "# Releasing a layer" },
];

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

/**
 * The commands shown in a section of a Markdown page, from its heading line to the next heading
 * of the same or a higher level: lines of its bash blocks and inline code that starts with a command.
 */
export function sectionCommands(readme: string, heading: string, file = "README.md"): string[] {
  const lines = readme.split("\n");
  const first = lines.indexOf(heading);
  if (first < 0) throw new Error(`${file} has no section "${heading}"`);
  const level = /^#+/.exec(heading)?.[0].length ?? 2;
  const rest = lines.slice(first + 1);
  let fenced = false; // a `# comment` line in a code block is not a heading
  const end = rest.findIndex((l) => {
    if (/^\s*```/.test(l)) fenced = !fenced;
    const m = /^(#+) /.exec(l);
    return !fenced && m !== null && m[1].length <= level;
  });
  const body = [heading, ...(end < 0 ? rest : rest.slice(0, end))].join("\n");
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

/** The commands every section of README_SECTIONS shows, read from the files in `root`. */
export function readmeCommands(root = REPO_ROOT): string[] {
  return README_SECTIONS.flatMap(({ file, heading }) => sectionCommands(fs.readFileSync(path.join(root, file), "utf8"), heading, file));
}

/** README commands that are neither run by a test nor listed as not runnable here. */
export function untested(commands: string[]): string[] {
  const templates = Object.values(README_COMMANDS);
  return commands.filter((c) => !templates.some((t) => instanceOf(c, t)) && !(c in NOT_RUN) && !NAMED_IN_PROSE.includes(c));
}
