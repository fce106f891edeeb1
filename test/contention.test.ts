// The threaded build (build/fbreplay.shared.wasm) on real worker threads sharing one memory. The replay
// (bench/lib/threaded-replay.mjs): partitioned by inode, threads share no inode and every counter must equal one
// thread's; split by pid, hot inodes are contended and the replay must still end consistent (no anomaly, nothing
// left open). The contention suite's harness (bench/suites/contention.mjs): what its rows count is what happened.
import { describe, expect, it } from "vitest";
// @ts-expect-error: plain ESM of the bench, no types
import { runThreads, split } from "../bench/lib/threaded-replay.mjs";
// @ts-expect-error: plain ESM of the bench, no types
import { synthWorkload } from "../bench/lib/workload.mjs";
// @ts-expect-error: plain ESM of the bench, no types
import { checkTasks, contentionSetup, runWorkers } from "../bench/suites/contention.mjs";

interface WorkerReport { busy: number; lock: { acquisitions: number; spins: number }; conn: { acquisitions: number; spins: number } }

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
    // Four hot inodes: two threads that run at the same time meet on their locks. Whether they run at the same time
    // is the scheduler's (on a busy 2-core machine, often not): over runs, they do.
    const hot = synthWorkload("hot", { events: 400_000, seed: 5, inodes: 4, forgetRate: 0, replaceRate: 0, redownloadRate: 0 });
    let spins = 0;
    for (let run = 0; run < 20 && spins === 0; run++) {
      const r = await runThreads(hot, "ptr", split(hot, 2, "pid"), 2);
      expect(r.outcomes.anomalies).toBe(0);
      expect(r.outcomes.open_at_end).toBe(0);
      expect(r.outcomes.opens).toBe(r.outcomes.releases);
      expect(r.outcomes.lock_acquisitions).toBeGreaterThan(0);
      spins += r.outcomes.lock_spins;
    }
    expect(spins).toBeGreaterThan(0);
  });
});

describe("the contention suite's workers", () => {
  const OPS = 1 << 18;

  it("on disjoint inodes never spin, take fi->lock once per check, and answer as one worker alone", async () => {
    for (const policy of ["ptr", "digest"]) {
      const setup = contentionSetup(policy, 2 + 2 * 64);
      const [a, b] = checkTasks("disjoint", 2, 64, 2 * OPS);
      const alone = [(await runWorkers(setup, [a])).reports[0], (await runWorkers(setup, [b])).reports[0]] as WorkerReport[];
      const together = (await runWorkers(setup, [a, b])).reports as WorkerReport[];
      together.forEach((w, i) => {
        expect(w.lock).toEqual({ acquisitions: OPS, spins: 0 });
        expect(w.busy).toBe(alone[i].busy);
      });
      // The walk meets the four cases: ptr refuses all but the same object; digest accepts re-downloads too.
      expect(together[0].busy / OPS).toBeCloseTo(policy === "ptr" ? 0.75 : 0.25, 1);
    }
  });

  it("on one shared hot inode contend for its lock (spins), and still answer as alone", async () => {
    const setup = contentionSetup("digest", 2 + 1);
    const tasks = checkTasks("shared", 2, 1, 2 * OPS);
    const alone = (await runWorkers(setup, [tasks[0]])).reports[0] as WorkerReport;
    let spins = 0;
    for (let run = 0; run < 20 && spins === 0; run++) {
      const reports = (await runWorkers(setup, tasks)).reports as WorkerReport[];
      for (const w of reports) {
        expect(w.lock.acquisitions).toBe(OPS);
        expect(w.busy).toBe(alone.busy); // a re-download under digest: always accepted
        spins += w.lock.spins;
      }
    }
    expect(spins).toBeGreaterThan(0);
  });

  it("register and close under fc->lock, twice per cycle, from slabs of their own, leaving the connection as it was", async () => {
    const setup = contentionSetup("ptr", 3);
    const before = setup.core.ctx_violations(setup.ctx);
    const cycles = 1 << 14;
    let spins = 0;
    for (let run = 0; run < 20 && spins === 0; run++) {
      const { reports } = await runWorkers(setup, [0, 2].map((bref) => ({ kind: "cycles", bref, ops: cycles })));
      for (const w of reports as WorkerReport[]) {
        expect(w.conn.acquisitions).toBe(2 * cycles);
        spins += w.conn.spins;
      }
    }
    expect(spins).toBeGreaterThan(0);
    expect(setup.core.ctx_violations(setup.ctx)).toBe(before);
  });
});
