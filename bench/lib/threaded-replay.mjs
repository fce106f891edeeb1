// The threaded core (build/fbreplay.shared.wasm) replaying one trace on N worker threads into one shared memory: the
// test of its correctness under threads (test/contention.test.ts). Split by pid, hot inodes are opened by several
// threads at once and interleavings are real; partitioned by inode, no two threads share an inode and every counter
// but the global peaks must equal one thread's. What the spinlock costs is measured apart, by the contention suite
// (bench/suites/contention.mjs), without the rest of the replay around it.
import { Worker } from "node:worker_threads";
import { COUNTER_SLOTS, FOPEN_PASSTHROUGH, OP_LOOKUP, OP_OPEN, OP_RELEASE } from "../../dist/abi.js";
import { OUTCOME_NAMES, outcomesFromCounters } from "../../dist/engine.js";
import { coreModule, WasmReplaySession } from "../../dist/replay/wasm.js";
import { eventColumns } from "../../dist/events.js";

const CHUNK_ROWS = 1 << 20;
/** Partitioned by inode, nodeids go to threads in blocks of 16, so per-nodeid tables packed several to a line
 * (the daemon's records) are not written by two threads. */
const INODE_BLOCK_SHIFT = 4;

/**
 * The workload's events dealt to `workers` threads. Every nodeid is looked up first (one thread, before timing),
 * so threads never race to create an inode instance; each thread gets its own fh range (thread w's fh is
 * w × maxFiles + fh), so an fh freed by one thread and reused by another in the trace cannot collide, and no two
 * threads write the same line of the file table; a RELEASE goes to the thread that made the OPEN.
 */
export function split(workload, workers, by) {
  const firstOpen = new Map();
  const owner = new Map();
  const rows = Array.from({ length: workers }, () => []);
  for (const c of workload.chunks) {
    for (let i = 0; i < c.length; i++) {
      const op = c.op[i];
      let w;
      if (op === OP_OPEN) {
        if (!firstOpen.has(c.nodeid[i])) firstOpen.set(c.nodeid[i], { bref: c.bref[i], fopen: c.fopen[i] });
        w = (by === "pid" ? c.pid[i] : c.nodeid[i] >>> INODE_BLOCK_SHIFT) % workers;
        owner.set(c.fh[i], w);
      } else if (op === OP_RELEASE) {
        w = owner.get(c.fh[i]);
      } else {
        throw new Error(`contention: the workload has op ${op}; it must be opens and releases only`);
      }
      rows[w].push([op, c.nodeid[i], w * workload.limits.maxFiles + c.fh[i], c.bref[i], c.oflags[i], c.fopen[i]]);
    }
  }
  const lookups = eventColumns([...firstOpen].map(([nodeid, f]) => ({ op: OP_LOOKUP, nodeid, bref: f.bref, fopen: f.fopen & FOPEN_PASSTHROUGH })));
  const shares = rows.map((r) => eventColumns(r.map(([op, nodeid, fh, bref, oflags, fopen]) => ({ op, nodeid, fh, bref, oflags, fopen }))));
  return { lookups, shares };
}

export async function runThreads(workload, policy, prepared, workers) {
  const session = new WasmReplaySession(workload.backing, {
    policies: [policy], daemon: "per-inode", maxInodes: workload.limits.maxInodes, maxFiles: workload.limits.maxFiles * workers,
  }, "shared");
  session.feed(prepared.lookups);
  const memory = session.coreMemory;
  const ctx = session.contextOf(policy);
  const gate = new SharedArrayBuffer(8);
  const flags = new Int32Array(gate);
  const threads = prepared.shares.map((columns) => new Worker(new URL("./threaded-replay-worker.mjs", import.meta.url), {
    workerData: { module: coreModule("shared"), memory, ctx, columns, gate, chunkRows: CHUNK_ROWS },
  }));
  const finished = threads.map((t) => new Promise((resolve, reject) => {
    t.once("message", resolve);
    t.once("error", reject);
  }));
  while (Atomics.load(flags, 0) < workers) Atomics.wait(flags, 0, Atomics.load(flags, 0), 50);
  const start = process.hrtime.bigint();
  Atomics.store(flags, 1, 1);
  Atomics.notify(flags, 1);
  const done = await Promise.all(finished);
  const wall = Number(done.reduce((m, d) => (d.end > m ? d.end : m), start) - start);
  await Promise.all(threads.map((t) => t.terminate()));
  const own = session.outcomes()[policy]; // the lookups, and the live counts at the end
  const merged = mergeCounters(own, done.map((d) => new BigInt64Array(memory.buffer, d.counters, COUNTER_SLOTS)));
  const broken = session.invariantViolations();
  if (merged.open_at_end === 0 && broken.length > 0) throw new Error(`contention: ${broken[0]}`);
  return { wall, outcomes: merged };
}

/** Workers' counters summed onto the context's own; peaks are the largest any worker saw, live counts the context's. */
function mergeCounters(own, blocks) {
  const out = { ...own };
  const workers = blocks.map((b) => outcomesFromCounters(b));
  for (const name of OUTCOME_NAMES) {
    if (name.startsWith("live_") || name === "open_at_end") continue;
    if (name.startsWith("peak_")) out[name] = Math.max(own[name], ...workers.map((w) => w[name]));
    else out[name] = own[name] + workers.reduce((s, w) => s + w[name], 0);
  }
  return out;
}
