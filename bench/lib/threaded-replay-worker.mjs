// One worker of the threaded replay (threaded-replay.mjs): instantiates the threaded core on the shared memory, loads
// events into its own columns, waits for the start signal, replays, and reports when it finished.
import { parentPort, workerData } from "node:worker_threads";

const { module, memory, ctx, columns, gate, chunkRows } = workerData;
const core = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error("wasm core assertion failed"); } } }).exports;
const n = columns.op.length;
const counters = core.counters_create();
if (counters === 0 || core.events_create(Math.max(1, n)) === 0) throw new Error("contention worker: out of wasm memory");
const buf = memory.buffer; // taken after the allocations: a grow replaces the view
new Uint8Array(buf, core.events_column(0), n).set(columns.op);
["nodeid", "fh", "bref", "oflags", "fopen"].forEach((name, k) => new Uint32Array(buf, core.events_column(k + 1), n).set(columns[name]));

const flags = new Int32Array(gate);
Atomics.add(flags, 0, 1); // ready
Atomics.notify(flags, 0);
Atomics.wait(flags, 1, 0); // until the start signal
for (let first = 0; first < n; first += chunkRows) {
  const rows = Math.min(chunkRows, n - first);
  if (core.replay_worker(ctx, counters, first, rows) !== rows) throw new Error("contention worker: the core ran out of memory");
}
parentPort.postMessage({ end: process.hrtime.bigint(), counters });
