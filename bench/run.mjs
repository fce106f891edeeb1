// The benchmark runner: `npm run bench` (everything) and `npm run bench:quick` (the same suites, small, under a
// minute). Writes bench/results/bench-<date>-<commit>[-quick].json and bench/results/latest.json.
// Usage: node bench/run.mjs [--quick] [--only check,throughput,e2e,parallel,scaling,contention] [--out FILE]
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { POLICIES } from "../dist/engine.js";
import { runScenarios } from "../dist/scenarios/index.js";
import { manifest } from "./lib/manifest.mjs";
import { RESULTS_SCHEMA, benchmarksOf, outcomesOf } from "../dist/results/index.js";
import { synthWorkload, traceWorkload } from "./lib/workload.mjs";
import { SETTLE_MS } from "./lib/engines.mjs";
import { buildNative } from "./c-core/index.mjs";
import { checkSuite, TINYBENCH_OPTIONS } from "./suites/check.mjs";
import { contentionSuite } from "./suites/contention.mjs";
import { e2eSuite } from "./suites/e2e.mjs";
import { memorySuite } from "./suites/memory.mjs";
import { parallelSuite } from "./suites/parallel.mjs";
import { scalingSuite } from "./suites/scaling.mjs";
import { compareEngines } from "./suites/throughput.mjs";

const SUITES = ["check", "throughput", "e2e", "parallel", "scaling", "contention", "memory"];
const TRACES = ["git-import", "c-build", "sqlite-journal", "npm-install", "atomic-edit"];

const { values } = parseArgs({
  options: { quick: { type: "boolean", default: false }, only: { type: "string" }, out: { type: "string" }, help: { type: "boolean", short: "h" } },
});
if (values.help) {
  console.log(`usage: node bench/run.mjs [--quick] [--only ${SUITES.join(",")}] [--out FILE]
  --quick  small sizes and few reps (under a minute); the full run takes ~20 min
  --only   run only these suites
  --out    results file (default bench/results/bench-<date>-<commit>[-quick].json); latest.json is always written`);
  process.exit(0);
}
const only = values.only ? values.only.split(",") : SUITES;
const unknown = only.filter((s) => !SUITES.includes(s));
if (unknown.length > 0) {
  console.error(`bench: unknown suite ${unknown.join(", ")} (suites: ${SUITES.join(", ")})`);
  process.exit(2);
}

const quick = values.quick;
const started = Date.now();
// Progress on a terminal only: one status line redrawn in place (suites done, elapsed, the current step); nothing in
// CI logs or pipes but the last line naming the results file.
let suitesDone = 0;
const log = process.stderr.isTTY
  ? (line) => {
    const bar = "#".repeat(suitesDone).padEnd(only.length, ".");
    const text = `[${bar}] ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s  ${line}`;
    process.stderr.write(`\r${text.slice(0, (process.stderr.columns ?? 100) - 1).padEnd((process.stderr.columns ?? 100) - 1)}`);
  }
  : () => {};
const say = (line) => process.stderr.write(`${process.stderr.isTTY ? "\n" : ""}${line}\n`);
let interrupted = false;
process.on("SIGINT", () => {
  interrupted = true;
  say("bench: interrupted: finishing the current step, then writing what was measured (marked incomplete)");
});

const native = buildNative();
if ("skipped" in native) say(`bench: native C engine skipped: ${native.skipped}`);
const results = {
  schema: RESULTS_SCHEMA,
  quick,
  manifest: { ...manifest({ native, tinybench: TINYBENCH_OPTIONS[quick ? "quick" : "full"] }), workloads: [] },
  suites: {},
  summary: null,
};

async function throughputSuite() {
  const reps = quick ? 2 : 5;
  const synthOptions = { events: quick ? 1_000_000 : 10_000_000, seed: 1, inodes: 100_000 };
  const workloads = [() => synthWorkload(`synth-${synthOptions.events / 1e6}M`, synthOptions)];
  const inject = { scale: quick ? 8 : 64, restartEvery: 50_000, redownloadRate: 0.001, seed: 1 };
  for (const t of quick ? ["atomic-edit"] : TRACES) workloads.push(() => traceWorkload(new URL(`../traces/${t}.fbt`, import.meta.url).pathname, inject));
  const rows = [];
  for (const make of workloads) {
    if (interrupted) break;
    const workload = await make();
    log(`throughput: ${workload.name}: ${workload.events} events`);
    results.manifest.workloads.push({ name: workload.name, description: workload.description, sha256: workload.hash, events: workload.events });
    rows.push(await compareEngines(workload, { native, reps, log, settleMs: SETTLE_MS[quick ? "quick" : "full"] }));
  }
  return { reps, workloads: rows };
}

/**
 * latest.json's summary, all from this run: per policy, each engine's events/s on the synthetic trace; and the
 * targets of bench/README.md: the parallel replay's speedup with 2 jobs, the file path's share of the in-memory
 * rate per policy set, the contention control's speedup with 2 workers, the peak RSS of a long replay.
 */
function summary(suites) {
  const out = {};
  const synthRow = suites.throughput?.workloads[0];
  for (const p of synthRow ? POLICIES : []) {
    const r = synthRow.policies[p];
    out[p] = { wasm_events_per_s: r.wasm.events_per_s, js_events_per_s: r.js.events_per_s, native_events_per_s: r.native?.events_per_s ?? null };
  }
  const two = suites.parallel?.rows.find((r) => r.jobs === 2);
  if (two) out.parallel_speedup = two.speedup_vs_one;
  if (two) out.parallel_bound = suites.parallel.bound_two_groups;
  const setName = (r) => (r.policies.length > 1 ? "all" : r.policies[0]);
  if (suites.e2e) out.e2e_ratio = Object.fromEntries(suites.e2e.rows.map((r) => [setName(r), r.e2e_vs_in_memory]));
  if (suites.e2e) out.e2e_bound = Object.fromEntries(suites.e2e.rows.map((r) => [setName(r), r.bound_read_and_crc]));
  // The control: workers on disjoint inodes (the slowest policy's row: every policy's must scale).
  const controls = suites.contention?.results.filter((r) => r.partition === "disjoint" && r.workers === 2) ?? [];
  if (controls.length > 0) {
    out.contention_control_speedup = Math.min(...controls.map((r) => r.speedup_vs_one));
    out.contention_control_cpu_speedup = Math.min(...controls.map((r) => r.cpu_speedup_vs_one));
  }
  const m = suites.memory;
  if (m) out.peak_rss_mb = { events: m.events, jobs: m.jobs, plain: m.replay.peak_rss_mb, injected: m.replay_injected.peak_rss_mb };
  return Object.keys(out).length > 0 ? out : null;
}

const run = {
  check: () => checkSuite({ quick, log }),
  throughput: throughputSuite,
  e2e: () => e2eSuite({ quick, log }),
  parallel: () => parallelSuite({ quick, log }),
  scaling: () => scalingSuite({ quick, log }),
  contention: () => contentionSuite({ quick, log }),
  memory: () => memorySuite({ quick, log }),
};
for (const suite of only) {
  if (interrupted) break;
  log(`suite ${suite}`);
  results.suites[suite] = await run[suite]();
  suitesDone++;
}
results.summary = summary(results.suites);
results.benchmarks = benchmarksOf(results.suites);
results.outcomes = outcomesOf(results.suites);
results.summary_workload = results.suites.throughput?.workloads[0]?.description ?? null;
// The report describes results; the scenario table it shows is this run's, as this core gave it.
results.scenarios = runScenarios("wasm", POLICIES).table;
results.complete = !interrupted;
results.wall_s = Math.round((Date.now() - started) / 1000);

const dir = new URL("results/", import.meta.url).pathname;
mkdirSync(dir, { recursive: true });
const stamp = results.manifest.date.replace(/[:.]/g, "-").slice(0, 19);
const out = values.out ?? `${dir}bench-${stamp}-${(results.manifest.commit ?? "nogit").slice(0, 7)}${quick ? "-quick" : ""}.json`;
const text = JSON.stringify(results, null, 1) + "\n";
writeFileSync(out, text);
writeFileSync(`${dir}latest.json`, text);
// The history: one line per complete run, what `fbreplay history` and the report's trends read.
const history = new URL("history.jsonl", import.meta.url).pathname;
if (results.complete) {
  const { manifest: m, summary: s, benchmarks, outcomes } = results;
  appendFileSync(history, `${JSON.stringify({ schema: "fbreplay-bench-history/1", date: m.date, commit: m.commit, quick, manifest: m, summary: s, benchmarks, outcomes })}\n`);
}
say(`bench: wrote ${out} and ${dir}latest.json${results.complete ? `, appended to ${history}` : " (incomplete run: not added to the history)"}`);
process.exit(interrupted ? 130 : 0);
