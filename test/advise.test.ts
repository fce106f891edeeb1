// fbreplay advise: the daemon × policy table is the replay's own counts, and the verdict says what those counts say.
import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ADVISE_DAEMONS, BASELINE, MAINLINE, verdictOf, type Advice, type AdviseCell, type AdviseTable } from "../src/advise/index.js";
import { POLICIES } from "../src/replay/index.js";

const cli = (...args: string[]) => execFileSync(process.execPath, ["dist/cli/bin.js", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const TRACE = "traces/sqlite-held-native.fbt";

const cell = (c: Partial<AdviseCell>): AdviseCell => ({ opens: 100, eio: 0, eio_pct: 0, unsafe: 0, stale: 0, peak_ids: 1, peak_backings: 1, ...c });
function tableWith(ptr: Partial<Record<(typeof ADVISE_DAEMONS)[number], Partial<AdviseCell>>>): AdviseTable {
  return Object.fromEntries(ADVISE_DAEMONS.map((d) => [d, Object.fromEntries(POLICIES.map((p) => [p, cell(p === MAINLINE ? ptr[d] ?? {} : {})]))])) as AdviseTable;
}

describe("fbreplay advise", () => {
  const json = JSON.parse(cli("advise", TRACE, "--json", "--jobs", "1")) as Advice;
  const text = cli("advise", TRACE, "--jobs", "2");

  it("prints every daemon behaviour × every policy", () => {
    expect(Object.keys(json.table)).toEqual([...ADVISE_DAEMONS]);
    for (const d of ADVISE_DAEMONS) expect(Object.keys(json.table[d])).toEqual([...POLICIES]);
    expect(json.complete).toBe(true);
  });

  it("its cells are the replay's counts for that daemon, with the same injection", () => {
    for (const daemon of ["per-nodeid", "stable-id"] as const) {
      const r = JSON.parse(cli("replay", TRACE, "--ids", daemon, "--restart-every", "50000", "--redownload-rate", "0.001", "--seed", "1", "--json"));
      for (const p of POLICIES) {
        const o = r.policies[p];
        expect(json.table[daemon][p]).toMatchObject({ opens: o.opens, eio: o.eio, unsafe: o.unsafe, stale: o.stale, peak_ids: o.peak_ids, peak_backings: o.peak_backings });
      }
    }
  });

  it("its verdict follows from the counts it prints", () => {
    const v = json.verdict;
    const base = json.table[BASELINE][MAINLINE];
    expect(v.baseline_eio).toBe(base.eio);
    // The best daemon under mainline: fewest EIO, taken only when it refuses fewer than the baseline.
    const fewest = Math.min(...ADVISE_DAEMONS.map((d) => json.table[d][MAINLINE].eio));
    if (fewest < base.eio) {
      expect(json.table[v.best!][MAINLINE].eio).toBe(fewest);
      expect(v.text[0]).toContain(`refused ${base.eio} opens`);
      expect(v.text[0]).toContain(`the ${v.best} daemon`);
    } else {
      expect(v.best).toBeNull();
    }
    expect(v).toMatchObject({ eio: json.table[v.best ?? BASELINE][MAINLINE].eio, stale: json.table[v.best ?? BASELINE][MAINLINE].stale });
    expect(v.kernel_eio).toBe(Math.min(...POLICIES.map((p) => json.table[BASELINE][p].eio)));
    expect(json.table[BASELINE][v.kernel].eio).toBe(v.kernel_eio);
    // The text output carries the same verdict and the same rows.
    for (const line of v.text) expect(text).toContain(line);
    for (const d of ADVISE_DAEMONS) {
      const c = json.table[d].ptr;
      expect(text).toMatch(new RegExp(`^${d}\\s+ptr\\s+${c.opens}\\s+${c.eio}\\s+${c.eio_pct.toFixed(3)}\\s+${c.unsafe}\\s+${c.stale}\\s+${c.peak_ids}\\s+${c.peak_backings}$`, "m"));
    }
  });

  it("this capture's verdict: a long-held file across the capture's own restarts", () => {
    // sqlite-held-native: a reader keeps the database open across 9 real restarts. Mainline refuses most opens of
    // every daemon; stable ids do not save it, because the restarted daemon closes the inherited id at its own last
    // release while the reader still holds the old object (scenario S2s′). A stable-id daemon that keeps the ids it
    // inherited removes them all under mainline (S2s″), as the kernel's inode check would.
    expect(json.table["per-inode"].ptr.eio_pct).toBeGreaterThan(80);
    expect(json.table["stable-id"].ptr.eio_pct).toBeGreaterThan(80);
    expect(json.table["stable-id-keep"].ptr.eio).toBe(0);
    expect(json.verdict).toMatchObject({ best: "stable-id-keep", eio: 0 });
    expect(json.verdict.text[0]).toContain("handing out ids as the stable-id-keep daemon does removes every refusal");
    expect(json.verdict.kernel_eio).toBe(0);
    expect(json.verdict.text.at(-1)).toBe(`On the kernel side, ${json.verdict.kernel} would leave per-inode 0 refusals, with 0 stale and 0 unsafe accepts.`);
  });

  it("names the daemon that removes the refusals and its cost", () => {
    const v = verdictOf(tableWith({ "per-inode": { eio: 10, eio_pct: 10 }, "per-open": { eio: 30 }, "stable-id": { eio: 4 }, "stable-id-keep": { eio: 2 }, "per-nodeid": { eio: 0, stale: 7 } }));
    expect(v).toMatchObject({ baseline_eio: 10, best: "per-nodeid", eio: 0, stale: 7 });
    expect(v.text[0]).toBe("Under mainline (ptr) a per-inode daemon (passthrough_hp) is refused 10 opens (10.000% of opens); handing out ids as the per-nodeid daemon does removes every refusal.");
    expect(v.text[1]).toBe("Its cost: stale accepts 0 → 7.");
  });

  it("says when no daemon-side change is needed, and when none helps", () => {
    expect(verdictOf(tableWith({})).text[0]).toContain("is refused no open here: no daemon-side change is needed");
    const none = verdictOf(tableWith({ "per-inode": { eio: 5 }, "per-open": { eio: 9 }, "stable-id": { eio: 5 }, "stable-id-keep": { eio: 5 }, "per-nodeid": { eio: 5 } }));
    expect(none.best).toBeNull();
    expect(none.text[0]).toContain("no daemon behaviour modelled refuses fewer");
  });

  it("refuses a missing trace with one line and status 2", () => {
    const r = spawnSync(process.execPath, ["dist/cli/bin.js", "advise", "/nonexistent.fbt"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("/nonexistent.fbt");
  });
});
