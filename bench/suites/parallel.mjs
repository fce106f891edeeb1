// Parallel replay: one trace under all five policies with --jobs 1 (one thread, one session) against --jobs N
// (the policies in N groups on worker threads), wall time from the file, reps interleaved. The counters must be
// identical; the ratio of the medians is the speedup (summary.parallel_speedup).
import { availableParallelism } from "node:os";
import { POLICIES } from "../../dist/engine.js";
import { policyGroups, replayTraces } from "../../dist/replay/index.js";
import { openTrace } from "../../dist/trace/index.js";
import { median, round } from "../lib/stats.mjs";
import { synthTraceFile } from "../lib/workload.mjs";

const countsOf = (reports) => JSON.stringify(reports.map((r) => Object.fromEntries(Object.entries(r.policies).map(([p, o]) => {
  const { ns_per_event: _, lock_spins: __, ...rest } = o;
  return [p, rest];
}))));

export async function parallelSuite({ quick, log, reps = quick ? 2 : 5 }) {
  const events = quick ? 1_000_000 : 10_000_000;
  const jobsList = [...new Set([1, 2, availableParallelism()])];
  log(`parallel: writing a ${events}-event synthetic trace`);
  const { file, dispose } = synthTraceFile(events, "parallel");
  try {
    const plan = { engine: "wasm", policies: POLICIES, daemon: "per-inode", scale: 1 };
    const samples = Object.fromEntries(jobsList.map((j) => [j, []]));
    let reference = null;
    for (let rep = 0; rep < reps; rep++) {
      for (const jobs of jobsList) {
        log(`parallel: --jobs ${jobs}, rep ${rep + 1}/${reps}`);
        const t0 = process.hrtime.bigint();
        const reports = await replayTraces([await openTrace(file, { reuseBuffers: true })], plan, { jobs });
        samples[jobs].push(Number(process.hrtime.bigint() - t0));
        const counts = countsOf(reports);
        reference ??= counts;
        if (counts !== reference) throw new Error(`parallel: --jobs ${jobs} gave other counts than --jobs ${jobsList[0]}`);
      }
    }
    // The bound: the policies split in groups cannot finish before the slowest group replayed alone in one thread.
    const groups = policyGroups(POLICIES, 2).map((policies) => ({ policies, samples_ns: [] }));
    for (let rep = 0; rep < reps; rep++) {
      for (const g of groups) {
        log(`parallel: the group ${g.policies.join(",")} alone, rep ${rep + 1}/${reps}`);
        const t0 = process.hrtime.bigint();
        await replayTraces([await openTrace(file, { reuseBuffers: true })], { ...plan, policies: g.policies }, { jobs: 1 });
        g.samples_ns.push(Number(process.hrtime.bigint() - t0));
      }
    }
    const one = median(samples[1]);
    const slowest = Math.max(...groups.map((g) => median(g.samples_ns)));
    return {
      trace: `synth --events ${events} --seed 1`,
      events,
      policies: [...POLICIES],
      rows: jobsList.map((jobs) => ({ jobs, wall_s: round(median(samples[jobs]) / 1e9, 3), speedup_vs_one: round(one / median(samples[jobs]), 3), samples_ns: samples[jobs] })),
      groups: groups.map((g) => ({ policies: g.policies, wall_s: round(median(g.samples_ns) / 1e9, 3), samples_ns: g.samples_ns })),
      bound_two_groups: round(one / slowest, 3),
    };
  } finally {
    dispose();
  }
}
