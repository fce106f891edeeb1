// The threaded build (build/fbreplay.shared.wasm) on real worker threads sharing one memory, as the contention
// benchmark runs it: partitioned by inode, threads share no inode and every counter must equal one thread's; split
// by pid, hot inodes are contended and the replay must still end consistent (no anomaly, nothing left open).
import { describe, expect, it } from "vitest";
// @ts-expect-error: plain ESM of the bench, no types
import { runThreads, split } from "../bench/suites/contention.mjs";
// @ts-expect-error: plain ESM of the bench, no types
import { synthWorkload } from "../bench/lib/workload.mjs";

const workload = synthWorkload("t", { events: 200_000, seed: 3, inodes: 2_000, forgetRate: 0 });

describe("the threaded core on shared memory", () => {
  for (const policy of ["ptr", "inode", "digest"]) {
    it(`${policy}: two threads partitioned by inode count exactly as one`, async () => {
      const one = await runThreads(workload, policy, split(workload, 1, "inode"), 1);
      const two = await runThreads(workload, policy, split(workload, 2, "inode"), 2);
      const { peak_backings: _a, peak_ids: _b, lock_spins: _c, ...a } = one.outcomes;
      const { peak_backings: _d, peak_ids: _e, lock_spins: _f, ...b } = two.outcomes;
      expect(b).toEqual(a);
      expect(a.opens).toBeGreaterThan(90_000);
      expect(a.anomalies).toBe(0);
    });
  }

  it("split by pid, hot inodes are contended (spins on fi->lock) and still end consistent", async () => {
    // Whether two threads meet on a lock in one run depends on the scheduler; over a few runs they do.
    let spins = 0;
    for (let run = 0; run < 10 && spins === 0; run++) {
      const r = await runThreads(workload, "ptr", split(workload, 2, "pid"), 2);
      expect(r.outcomes.anomalies).toBe(0);
      expect(r.outcomes.open_at_end).toBe(0);
      expect(r.outcomes.opens).toBe(r.outcomes.releases);
      expect(r.outcomes.lock_acquisitions).toBeGreaterThan(0);
      spins += r.outcomes.lock_spins;
    }
    expect(spins).toBeGreaterThan(0);
  });
});
