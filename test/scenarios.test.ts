import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ENGINES, POLICIES } from "../src/replay/index.js";
import { runScenarios, type ScenarioCell } from "../src/scenarios/index.js";

const ok: ScenarioCell = { result: "ok", internal: null, unsafe: false, stale: false };
const ebusy: ScenarioCell = { result: "EIO", internal: "EBUSY", unsafe: false, stale: false };
const unsafe: ScenarioCell = { ...ok, unsafe: true };
const stale: ScenarioCell = { ...ok, stale: true };

// The policy × scenario table of spec §d, written out from the spec (lookup = P4b, Amir's variant:
// the backing was attached at lookup). S5 under reuse/lookup is "conflict masked": the second open is
// served the first file, which the model reports as stale.
const SPEC_TABLE = {
  "S1": { ptr: ok, inode: ok, digest: ok, reuse: ok, lookup: ok },
  "S1′": { ptr: ebusy, inode: ok, digest: ok, reuse: ok, lookup: ok },
  "S2": { ptr: ebusy, inode: ok, digest: ok, reuse: ok, lookup: ok },
  "S3": { ptr: ebusy, inode: ebusy, digest: unsafe, reuse: ok, lookup: ok },
  "S4a": { ptr: ebusy, inode: ebusy, digest: ebusy, reuse: stale, lookup: stale },
  "S4b": { ptr: ebusy, inode: ok, digest: ok, reuse: ok, lookup: ok },
  "S5": { ptr: ebusy, inode: ebusy, digest: ebusy, reuse: stale, lookup: stale },
};

describe("scenarios of spec §d", () => {
  for (const engine of ENGINES) {
    it(`${engine} engine reproduces the spec table and keeps the invariants`, () => {
      const run = runScenarios(engine);
      expect(run.table).toEqual(SPEC_TABLE);
      expect(run.violations).toEqual([]);
    });
  }

  it("a subset of policies gives the same cells", () => {
    const run = runScenarios("wasm", ["inode", "lookup"]);
    for (const [name, cells] of Object.entries(run.table)) {
      expect(Object.keys(cells)).toEqual(["inode", "lookup"]);
      expect(cells.inode).toEqual(SPEC_TABLE[name as keyof typeof SPEC_TABLE].inode);
    }
  });

  it("`fbreplay scenarios --json` prints the spec table", () => {
    const out = execFileSync(process.execPath, ["dist/cli/bin.js", "scenarios", "--json"], { encoding: "utf8" });
    expect(JSON.parse(out)).toEqual(SPEC_TABLE);
  });

  it("`fbreplay scenarios` prints a table with every policy as a column", () => {
    const out = execFileSync(process.execPath, ["dist/cli/bin.js", "scenarios"], { encoding: "utf8" });
    const header = out.split("\n")[0].split(/\s+/);
    expect(header).toEqual(["scenario", ...POLICIES]);
    expect(out).toMatch(/^S3\s+EBUSY→EIO\s+EBUSY→EIO\s+ok unsafe\s+ok\s+ok$/m);
  });

  it("rejects an unknown policy with exit status 2 and one line", () => {
    try {
      execFileSync(process.execPath, ["dist/cli/bin.js", "scenarios", "--policy", "ptr,nope"], { encoding: "utf8", stdio: "pipe" });
      expect.unreachable();
    } catch (err) {
      const e = err as { status: number; stderr: string };
      expect(e.status).toBe(2);
      expect(e.stderr.trim().split("\n")).toEqual(["fbreplay: unknown policy 'nope' (one of: ptr, inode, digest, reuse, lookup)"]);
    }
  });
});
