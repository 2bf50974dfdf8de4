/**
 * The README's "Repository layout" table against the tree: every folder of the repository has a
 * row, and every path a row names exists under that row's folder. A new module, doc or folder
 * that the table does not name, or a name the tree no longer has, fails here.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../scripts/plan/mock-engine";

interface Row {
  /** The folder the row describes, as written: `stacks/shared/`, `stacks/<layer>/`. */
  folder: string;
  description: string;
}

function layoutRows(): Row[] {
  const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const section = readme.split(/^## Repository layout$/m)[1]?.split(/^## /m)[0] ?? "";
  const rows = section
    .split("\n")
    .filter((l) => /^\| `[^`]+` \|/.test(l))
    .map((l) => {
      const [, folder, description] = /^\| `([^`]+)` \| (.*) \|$/.exec(l) ?? [];
      return { folder, description };
    });
  assert.ok(rows.length > 0, "the README has no Repository layout table");
  return rows;
}

/** The folders a row's first column stands for (`stacks/<layer>/` stands for every layer). */
function foldersOf(row: Row): string[] {
  if (!row.folder.includes("<layer>")) return [row.folder.replace(/\/$/, "")];
  const stacks = fs
    .readdirSync(path.join(REPO_ROOT, "stacks"))
    .filter((d) => fs.existsSync(path.join(REPO_ROOT, "stacks", d, "Pulumi.yaml")));
  return stacks.map((d) => row.folder.replace("<layer>", d).replace(/\/$/, ""));
}

/** Tracked and untracked-but-not-ignored files, relative to the repository root. */
function trackedFiles(): string[] {
  const out = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: REPO_ROOT, encoding: "utf8" });
  return out.split("\n").filter((f) => f && fs.existsSync(path.join(REPO_ROOT, f)));
}

describe("the README's repository layout", () => {
  const rows = layoutRows();
  const files = trackedFiles();

  it("has a row for every top-level folder", () => {
    const folders = new Set(files.filter((f) => f.includes("/")).map((f) => f.split("/")[0]));
    const named = new Set(rows.map((r) => r.folder.split("/")[0]));
    for (const folder of folders) assert.ok(named.has(folder), `README's layout table has no row for ${folder}/`);
  });

  it("names only paths that exist under the row's folder", () => {
    for (const row of rows) {
      for (const folder of foldersOf(row)) {
        assert.ok(fs.existsSync(path.join(REPO_ROOT, folder)), `${row.folder}: ${folder} does not exist`);
        const below = files.filter((f) => f.startsWith(`${folder}/`)).map((f) => f.slice(folder.length + 1));
        for (let [, name] of row.description.matchAll(/`([\w.<>/-]+(?:\.(?:ts|py|md|json|sh|yaml)|\/))`/g)) {
          if (name.includes("<") || name.startsWith("Pulumi.")) continue;
          if (name.startsWith(`${folder}/`)) name = name.slice(folder.length + 1);
          const dir = name.endsWith("/");
          // A path from the repository root (another folder's file) is fine when it exists.
          if (name.includes("/") && !dir && files.includes(name)) continue;
          const found = below.some((f) => (dir ? `/${f}`.includes(`/${name}`) : f === name || f.endsWith(`/${name}`)));
          assert.ok(found, `${row.folder}: the README names ${name}, which is not under ${folder}/`);
        }
      }
    }
  });

  it("names every document in docs/ and every script in scripts/", () => {
    for (const folder of ["docs", "scripts"]) {
      const row = rows.find((r) => r.folder === `${folder}/`);
      assert.ok(row, `README's layout table has no ${folder}/ row`);
      for (const entry of fs.readdirSync(path.join(REPO_ROOT, folder))) {
        const name = fs.statSync(path.join(REPO_ROOT, folder, entry)).isDirectory() ? `${entry}/` : entry;
        assert.ok(row.description.includes(`\`${name}`), `README's ${folder}/ row does not name ${name}`);
      }
    }
  });
});
