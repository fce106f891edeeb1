// What the conflict check costs when N threads contend for hot inodes' fi->lock (issue 16, item 4): N workers of the
// threaded build (build/fbreplay.shared.wasm) on one shared memory, each with an instance of its own, run the
// locked conflict check (spec §b.4 step 5: take fi->lock, compare the cached fuse_backing with the candidate under
// the policy, unlock) over a hot set of K fuse inodes. The critical section is the policy's: a pointer compare
// (ptr; reuse and lookup make the same test), two dependent loads each side (inode), and when the inodes differ a
// 32-byte digest compare (digest). Per row: ns per check as each worker saw it, and spins per acquisition.
//
// The per-CPU structure the kernel has: each worker registers its own candidate fuse_backings before it is timed
// (as an open carries the object its own task looked up), counts into its own counter block, walks its own
// visiting order, and allocates nothing while timed; the only lines written per check are the lock words under
// test. Partitions:
// - shared: every worker walks the same K inodes (K = 1: all on one lock) — contended;
// - disjoint: the control, each worker its own K inodes on lines of their own: nothing written is shared, so it must
//   scale with the cores (summary.contention_control_speedup is its 2-worker speedup);
// - connection: FUSE_DEV_IOC_BACKING_OPEN then _CLOSE, over and over, by N workers, each of a file of its own: the
//   connection-level serialization (the idr, the backing inode cache and the live count under fc->lock; the
//   fuse_backing comes from the worker's own slab cache before the lock, as kmalloc's does), measured apart from
//   the check, with fc->lock's own acquisitions and spins.
// The work is fixed per run (OPS operations, split among the workers), so "× one worker" is a throughput ratio.
import { Worker } from "node:worker_threads";
import { DAEMON_PER_INODE, ID_MAX_DEFAULT } from "../../dist/abi.js";
import { POLICY_CODE } from "../../dist/engine.js";
import { SHARED_MAX_PAGES, coreModule } from "../../dist/replay/wasm.js";
import { addCheckFiles } from "../lib/check-table.mjs";
import { median, round } from "../lib/stats.mjs";

/** Files in the backing table, each followed by its re-downloaded copy (same bytes), as in the check suite. */
const FILES = 64;
/**
 * Hot sets start at nodeid 2, so that K = 1 is a re-download (case 2 of the check suite's four): ptr and inode see
 * a conflict after one or two loads, digest compares all 32 bytes and accepts.
 */
const FIRST = 2;
const FULL = {
  ops: 1 << 26, reps: 3, policies: ["ptr", "inode", "digest"],
  shared: { inodes: [1, 4, 64, 1024], workers: [1, 2, 4] },
  disjoint: { inodes: [64], workers: [1, 2] },
  connection: { ops: 1 << 23, workers: [1, 2, 4] },
};
const QUICK = {
  ops: 1 << 22, reps: 1, policies: ["ptr"],
  shared: { inodes: [1, 64], workers: [1, 2] },
  disjoint: { inodes: [64], workers: [1, 2] },
  connection: { ops: 1 << 19, workers: [1, 2] },
};

/** A shared memory whose context for `policy` gives nodeids [0, inodes) a cached fuse_backing each. */
export function contentionSetup(policy, inodes) {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: SHARED_MAX_PAGES, shared: true });
  const module = coreModule("shared");
  const core = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error("wasm core assertion failed"); } } }).exports;
  addCheckFiles(core, memory, FILES, "contention");
  const ctx = core.ctx_create(POLICY_CODE[policy], DAEMON_PER_INODE, inodes, 1, ID_MAX_DEFAULT);
  if (ctx === 0 || core.check_setup(ctx, inodes) === 0) throw new Error(`contention: out of memory setting up ${policy}`);
  return { module, memory, ctx, core };
}

/**
 * One timed run: `tasks` (one per worker: { kind: "checks", first, inodes, seed, ops } or { kind: "cycles", bref,
 * ops }) start together. Returns the wall time from the start signal to the last worker's end, and each worker's
 * report (its own start and end, checks that conflicted, fi->lock and fc->lock acquisitions and spins).
 */
export async function runWorkers(setup, tasks) {
  const gate = new SharedArrayBuffer(8);
  const flags = new Int32Array(gate);
  const threads = tasks.map((task) => new Worker(new URL("../lib/contention-worker.mjs", import.meta.url), {
    workerData: { module: setup.module, memory: setup.memory, ctx: setup.ctx, gate, task },
  }));
  const finished = threads.map((t) => new Promise((resolve, reject) => {
    t.once("message", resolve);
    t.once("error", reject);
  }));
  try {
    while (Atomics.load(flags, 0) < tasks.length) {
      const failed = await Promise.race([Promise.any(finished).then(() => true, () => true), new Promise((r) => setTimeout(() => r(false), 20))]);
      if (failed && Atomics.load(flags, 0) < tasks.length) await Promise.all(finished); // rethrows a worker's error
    }
    const start = process.hrtime.bigint();
    Atomics.store(flags, 1, 1);
    Atomics.notify(flags, 1);
    const reports = await Promise.all(finished);
    const end = reports.reduce((m, r) => (r.end > m ? r.end : m), start);
    return { wall: Number(end - start), reports };
  } finally {
    await Promise.all(threads.map((t) => t.terminate()));
  }
}

/** The tasks of `workers` workers sharing `ops` checks: on one hot set, or each on its own. */
export function checkTasks(partition, workers, inodes, ops) {
  return Array.from({ length: workers }, (_, w) => ({
    kind: "checks", first: FIRST + (partition === "disjoint" ? w * inodes : 0), inodes, seed: 0x9e3779b9 + w * 7919, ops: Math.floor(ops / workers),
  }));
}

/**
 * A row of the results. `one` is the same row's 1-worker figures: the wall time, and the CPU time of the slowest
 * worker. Wall ratios are the target's; CPU-time ratios say what the run would have done with a free core per
 * worker (on a loaded machine the workers wait for one, which the wall time counts).
 */
function rowOf(base, runs, ops, one) {
  const walls = runs.map((r) => r.wall);
  const wall = median(walls);
  const cpu = median(runs.map((r) => Math.max(...r.reports.map((w) => w.cpu_ns))));
  const last = runs[runs.length - 1].reports;
  const share = (r) => Math.floor(ops / r.reports.length);
  // Each worker's own ns per operation (its share over its own start → end, and its CPU time), median over workers and reps.
  const nsPerOp = median(runs.flatMap((r) => r.reports.map((w) => Number(w.end - w.start) / share(r))));
  const cpuNsPerOp = median(runs.flatMap((r) => r.reports.map((w) => w.cpu_ns / share(r))));
  const waited = median(runs.flatMap((r) => r.reports.map((w) => w.wait_ns / Number(w.end - w.start))));
  const lock = base.partition === "connection" ? "conn" : "lock";
  const acquisitions = last.reduce((s, w) => s + w[lock].acquisitions, 0);
  const spins = last.reduce((s, w) => s + w[lock].spins, 0);
  return {
    ...base,
    ns_per_check: round(nsPerOp, 2),
    cpu_ns_per_check: round(cpuNsPerOp, 2),
    waiting_share: round(waited, 3),
    events_per_s: Math.round(ops / (wall / 1e9)),
    speedup_vs_one: round((one?.wall ?? wall) / wall, 3),
    cpu_speedup_vs_one: round((one?.cpu ?? cpu) / cpu, 3),
    cpu_ns_slowest: cpu,
    spins_per_acquisition: round(spins / Math.max(1, acquisitions), 5),
    lock_acquisitions: acquisitions,
    outcomes_differing_from_one_thread: {},
    operations: ops,
    samples_ns: walls,
  };
}

export async function contentionSuite({ quick, log }) {
  const plan = quick ? QUICK : FULL;
  const results = [];
  const repeat = async (label, fn) => {
    const runs = [];
    for (let rep = 0; rep < plan.reps; rep++) {
      log(`contention: ${label}, rep ${rep + 1}/${plan.reps}`);
      runs.push(await fn());
    }
    return runs;
  };
  const maxInodes = FIRST + Math.max(...plan.shared.inodes, ...plan.disjoint.inodes.map((k) => k * Math.max(...plan.disjoint.workers)));
  for (const policy of plan.policies) {
    const setup = contentionSetup(policy, maxInodes);
    for (const partition of ["shared", "disjoint"]) {
      for (const inodes of plan[partition].inodes) {
        let one;
        for (const workers of plan[partition].workers) {
          const runs = await repeat(`${partition} ${policy}, ${inodes} hot inode${inodes > 1 ? "s" : ""}, ${workers} worker${workers > 1 ? "s" : ""}`,
            () => runWorkers(setup, checkTasks(partition, workers, inodes, plan.ops)));
          // Every worker's checks took fi->lock once each.
          const took = runs[runs.length - 1].reports.reduce((s, w) => s + w.lock.acquisitions, 0);
          if (took !== Math.floor(plan.ops / workers) * workers) throw new Error(`contention: ${took} fi->lock acquisitions for ${plan.ops} checks`);
          if (partition === "disjoint" && runs.some((r) => r.reports.some((w) => w.lock.spins > 0))) {
            throw new Error("contention: workers on disjoint inodes spun on a lock: they share one");
          }
          const row = rowOf({ partition, policy, workers, hot_inodes: inodes }, runs, Math.floor(plan.ops / workers) * workers, one);
          if (workers === 1) one = { wall: median(row.samples_ns), cpu: row.cpu_ns_slowest };
          results.push(row);
        }
      }
    }
  }
  // The connection: registrations and closes, each worker of a file of its own (the context's policy plays no part).
  const setup = contentionSetup("ptr", FIRST + 1);
  const before = setup.core.ctx_violations(setup.ctx); // the set-up's inodes hold objects no open explains
  let one;
  for (const workers of plan.connection.workers) {
    const ops = Math.floor(plan.connection.ops / workers) * workers;
    const runs = await repeat(`connection, ${workers} worker${workers > 1 ? "s" : ""}`,
      () => runWorkers(setup, Array.from({ length: workers }, (_, w) => ({ kind: "cycles", bref: 2 * w, ops: ops / workers }))));
    const row = rowOf({ partition: "connection", policy: "any", workers, hot_inodes: 1 }, runs, ops, one);
    if (workers === 1) one = { wall: median(row.samples_ns), cpu: row.cpu_ns_slowest };
    results.push(row);
  }
  if (setup.core.ctx_violations(setup.ctx) !== before) throw new Error("contention: the connection's objects and ids disagree after the workers (a cycle leaked or freed twice)");
  return {
    workload: `locked conflict checks of ${FILES} files and their re-downloaded copies, ${plan.ops.toLocaleString("en")} checks per run; connection: ${plan.connection.ops.toLocaleString("en")} BACKING_OPEN + CLOSE cycles per run`,
    events: plan.ops,
    results,
  };
}
