// What no committed file may hold: a merge's conflict markers; and what no source file may be: longer than a
// reader can hold (issue 15: one concept per file, about 400 lines at most).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";

it("no tracked file holds merge conflict markers", () => {
  const r = spawnSync("git", ["grep", "-n", "-E", "^(<{7}|>{7}) ", "--", "."], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(1); // git grep: 1 is "nothing found"
  expect(r.stdout).toBe("");
});

/** Past this, a file holds more than one concept: split it by concept, with names from the domain. */
const MAX_LINES = 420;
/** Files allowed past it, and why. */
const LONG_FILES: Record<string, string> = {
  "bench/c-core/core.c": "the C port of the whole core in one translation unit, section by section after assembly/",
};

it(`no source file is over ${MAX_LINES} lines`, () => {
  const files = spawnSync("git", ["ls-files", "--", "*.ts", "*.mts", "*.mjs", "*.js", "*.c", "*.h", "*.sh"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
  expect(files.length).toBeGreaterThan(100);
  const long = files
    .map((f) => ({ f, lines: readFileSync(f, "utf8").split("\n").length - 1 }))
    .filter(({ f, lines }) => lines > MAX_LINES && LONG_FILES[f] === undefined)
    .map(({ f, lines }) => `${f}: ${lines} lines`);
  expect(long).toEqual([]);
  // Every exception still exists and is still long: none outlives its reason.
  for (const f of Object.keys(LONG_FILES)) expect(readFileSync(f, "utf8").split("\n").length - 1, f).toBeGreaterThan(MAX_LINES);
});
