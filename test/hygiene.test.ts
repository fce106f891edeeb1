// What no committed file may hold: a merge's conflict markers.
import { spawnSync } from "node:child_process";
import { expect, it } from "vitest";

it("no tracked file holds merge conflict markers", () => {
  const r = spawnSync("git", ["grep", "-n", "-E", "^(<{7}|>{7}) ", "--", "."], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(1); // git grep: 1 is "nothing found"
  expect(r.stdout).toBe("");
});
