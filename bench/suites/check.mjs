// Cost per check, per policy: the locked conflict test alone (spec §b.4 step 5), timed with tinybench as a batch
// loop inside wasm and divided by the batch, in two memory regimes; and the cost of one JS→wasm call on its own.
import { Bench } from "tinybench";
import { POLICIES, POLICY_CODE } from "../../dist/engine.js";
import { coreModule } from "../../dist/replay/wasm.js";
import { DAEMON_PER_INODE, ID_MAX_DEFAULT } from "../../dist/abi.js";
import { addCheckFiles } from "../lib/check-table.mjs";
import { round } from "../lib/stats.mjs";

/**
 * cache: a few hundred inodes, everything the check touches stays in the nearest caches.
 * beyond-llc: 1M fuse inodes (64 MiB of fuse_inode alone, twice the last-level cache), visited in random order,
 * each with fuse_backing and struct file objects of its own: the check's dependent loads miss as in the kernel.
 */
const REGIMES = [
  { name: "cache", inodes: 512, files: 128, batch: 1 << 18 },
  { name: "beyond-llc", inodes: 1 << 20, files: 1 << 16, batch: 1 << 16 },
];
const CALL_BATCH = 1 << 20;

export const TINYBENCH_OPTIONS = {
  full: { time: 600, warmupTime: 100, iterations: 32, retainSamples: true },
  quick: { time: 150, warmupTime: 50, iterations: 16, retainSamples: true },
};

/** A core instance whose backing table holds `files` files, each followed by a re-downloaded copy (same bytes). */
function instantiate(files) {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const core = new WebAssembly.Instance(coreModule(), { env: { memory, abort: () => { throw new Error("wasm core assertion failed"); } } }).exports;
  addCheckFiles(core, memory, files, "check bench");
  return { core, memory };
}

/** A random permutation of [0, n), n a power of two, from a fixed seed: the same walk on every run. */
function visitingOrder(core, memory, n) {
  const at = core.host_alloc(n * 4);
  if (at === 0) throw new Error("check bench: out of memory for the visiting order");
  const order = new Uint32Array(memory.buffer, at, n);
  for (let i = 0; i < n; i++) order[i] = i;
  let x = 0x9e3779b9;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return at;
}

export async function checkSuite({ quick, log }) {
  const options = quick ? TINYBENCH_OPTIONS.quick : TINYBENCH_OPTIONS.full;
  const results = [];
  for (const regime of REGIMES) {
    log(`check: setting up ${regime.name} (${regime.inodes} fuse inodes)`);
    const { core, memory } = instantiate(regime.files);
    const order = visitingOrder(core, memory, regime.inodes);
    const bench = new Bench({ name: `check ${regime.name}`, ...options });
    const expected = {};
    for (const policy of POLICIES) {
      const ctx = core.ctx_create(POLICY_CODE[policy], DAEMON_PER_INODE, regime.inodes, 1, ID_MAX_DEFAULT);
      const candidates = ctx === 0 ? 0 : core.check_setup(ctx, regime.inodes);
      if (candidates === 0) throw new Error(`check bench: out of memory setting up ${regime.name} for ${policy}`);
      expected[policy] = core.check_batch(ctx, candidates, order, regime.inodes - 1, regime.batch);
      // Every task calls the same export with numbers only, so sharing one function literal keeps the call
      // site monomorphic (the perf-notes pitfall is closures over different callees).
      bench.add(policy, () => {
        if (core.check_batch(ctx, candidates, order, regime.inodes - 1, regime.batch) !== expected[policy]) {
          throw new Error(`check bench: ${policy} gave another answer on the same batch`);
        }
      });
    }
    await bench.run();
    for (const task of bench.tasks) {
      const r = task.result;
      if (r.state !== "completed") throw new Error(`check bench ${regime.name} ${task.name}: ${r.error?.message ?? r.state}`);
      const perCheck = (ms) => round((ms * 1e6) / regime.batch, 3);
      results.push({
        regime: regime.name,
        policy: task.name,
        fuse_inodes: regime.inodes,
        batch: regime.batch,
        conflicts_per_batch: expected[task.name],
        ns_per_check: { mean: perCheck(r.latency.mean), p50: perCheck(r.latency.p50), p99: perCheck(r.latency.p99) },
        rme_percent: round(r.latency.rme, 2),
        samples: r.latency.samplesCount,
        samples_ns_per_check: [...(r.latency.samples ?? [])].map((ms) => perCheck(ms)),
      });
    }
  }
  return { tinybench: options, checks: results, call_ns: callCost(CALL_BATCH) };
}

/** One JS→wasm call of an empty export, timed as a loop of many and divided (one call is below timer resolution). */
function callCost(n) {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const core = new WebAssembly.Instance(coreModule(), { env: { memory, abort: () => {} } }).exports;
  const nop = core.call_nop;
  const samples = [];
  for (let rep = 0; rep < 15; rep++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) nop();
    samples.push(Number(process.hrtime.bigint() - t0) / n);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: round(sorted[7], 3), min: round(sorted[0], 3), calls_per_sample: n, samples: samples.length, samples_ns: samples.map((x) => round(x, 4)) };
}
