// One worker of the contention suite (bench/suites/contention.mjs): its own instance of the threaded core on the
// shared memory, its own counter block and, for checks, its own candidate fuse_backings and visiting order, all
// made before the start signal. It warms up (V8 moves a running wasm call to optimized code only when it is entered
// again), waits for the start, runs its share in calls of CALL_OPS, and reports its own start and end.
import { readFileSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { COUNTER_SLOTS } from "../../dist/abi.js";
import { outcomesFromCounters } from "../../dist/engine.js";

const { module, memory, ctx, gate, task } = workerData;
const CALL_OPS = 1 << 20;
const core = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error("wasm core assertion failed"); } } }).exports;
const warm = core.counters_create();
const counters = core.counters_create();
if (warm === 0 || counters === 0) throw new Error("contention worker: out of wasm memory");

let run;
if (task.kind === "checks") {
  const candidates = core.contention_candidates(ctx, warm, task.first, task.inodes);
  const at = core.host_alloc(task.inodes * 4);
  if (candidates === 0 || at === 0) throw new Error("contention worker: out of wasm memory");
  const order = new Uint32Array(memory.buffer, at, task.inodes);
  // This worker's own random walk over its inodes, from its seed: the same walk on every run.
  for (let i = 0; i < task.inodes; i++) order[i] = task.first + i;
  let x = task.seed | 1;
  for (let i = task.inodes - 1; i > 0; i--) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  run = (into, n) => core.contention_checks(ctx, into, candidates, at, task.inodes - 1, n);
} else {
  run = (into, n) => {
    if (core.contention_cycles(ctx, into, task.bref, n) !== n) throw new Error("contention worker: BACKING_OPEN failed (out of memory or ids)");
    return 0;
  };
}
for (let i = 0; i < 4; i++) run(warm, Math.min(task.ops, 1 << 16));
const connBefore = { acquisitions: core.conn_lock_acquisitions(), spins: core.conn_lock_spins() };

const flags = new Int32Array(gate);
Atomics.add(flags, 0, 1); // ready
Atomics.notify(flags, 0);
Atomics.wait(flags, 1, 0); // until the start signal
const sched0 = schedstat();
const start = process.hrtime.bigint();
let busy = 0;
for (let done = 0; done < task.ops; done += CALL_OPS) busy += run(counters, Math.min(CALL_OPS, task.ops - done));
const end = process.hrtime.bigint();
const sched1 = schedstat();
const c = outcomesFromCounters(new BigInt64Array(memory.buffer, counters, COUNTER_SLOTS));
parentPort.postMessage({
  start, end, busy, cpu_ns: sched1.cpu - sched0.cpu, wait_ns: sched1.wait - sched0.wait,
  lock: { acquisitions: c.lock_acquisitions, spins: c.lock_spins },
  conn: { acquisitions: core.conn_lock_acquisitions() - connBefore.acquisitions, spins: core.conn_lock_spins() - connBefore.spins },
});

/** This thread's time on a CPU and waiting on a run queue, in ns so far. */
function schedstat() {
  const [cpu, wait] = readFileSync("/proc/thread-self/schedstat", "utf8").split(" ").map(Number);
  return { cpu, wait };
}
