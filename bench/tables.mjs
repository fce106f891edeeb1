// The summary tables of bench/README.md, printed as Markdown from a results file, so the figures there are the
// file's and nothing else. Usage: node bench/tables.mjs [bench/results/latest.json]
import { readFileSync } from "node:fs";
import { markdownTable } from "../dist/table.js";

const path = process.argv[2] ?? new URL("results/latest.json", import.meta.url).pathname;
const r = JSON.parse(readFileSync(path, "utf8"));
const s = r.suites;
const f1 = (x) => (x === undefined || x === null ? "–" : x.toFixed(1));
const f2 = (x) => (x === undefined || x === null ? "–" : x.toFixed(2));
const M = (x) => (x === undefined || x === null ? "–" : `${(x / 1e6).toFixed(1)}M`);
const table = (head, rows) => markdownTable([head, ...rows.map((row) => row.map(String))]).join("\n");
const out = [];
const m = r.manifest;
out.push(`Run: ${m.date}, commit ${m.commit?.slice(0, 7)}${m.dirty ? " (dirty)" : ""}, ${r.quick ? "quick" : "full"}, ${m.cpu.model} × ${m.cores ?? m.cpu.cores}, Node ${m.node} (V8 ${m.v8}), asc ${m.asc.version}, ${"skipped" in m.native ? `native skipped: ${m.native.skipped}` : m.native.version + " " + m.native.flags.join(" ")}, wall ${r.wall_s} s.`);

if (s.throughput) {
  for (const w of s.throughput.workloads) {
    out.push("", `**${w.workload}** (${w.events.toLocaleString("en")} events; ${w.description}), median of ${s.throughput.reps} interleaved reps:`, "");
    out.push(table(["policy", "wasm ns/event", "native ns/event", "js ns/event", "wasm events/s", "wasm / native time", "js / wasm time", "EIO", "opens"],
      Object.entries(w.policies).map(([p, x]) => [p, f1(x.wasm.ns_per_event), f1(x.native?.ns_per_event), f1(x.js.ns_per_event), M(x.wasm.events_per_s), f2(x.wasm_vs_native), f2(x.wasm_vs_js), x.outcomes.eio, x.outcomes.opens])));
  }
}
if (s.check) {
  out.push("", `**Cost per check** (the locked conflict test alone, ${JSON.stringify(s.check.tinybench)}; JS→wasm call ${f2(s.check.call_ns.p50)} ns):`, "");
  out.push(table(["regime", "policy", "p50 ns", "p99 ns", "rme %", "samples"], s.check.checks.map((c) => [c.regime, c.policy, f2(c.ns_per_check.p50), f2(c.ns_per_check.p99), f2(c.rme_percent), c.samples])));
}
if (s.e2e) {
  out.push("", `**End to end** from a trace file in the page cache (${s.e2e.trace}):`, "");
  out.push(table(["policies", "from file events/s", "in memory events/s", "file / memory", "bound: read + CRC alone"], s.e2e.rows.map((x) => [x.policies.length > 1 ? "all five" : x.policies[0], M(x.e2e_events_per_s), M(x.in_memory_events_per_s), f2(x.e2e_vs_in_memory), f2(x.bound_read_and_crc)])));
  if (s.e2e.crc32_ns_per_event !== undefined) out.push("", `Reading the file from the page cache: ${f2(s.e2e.read_ns_per_event)} ns/event; its CRC-32 (zlib.crc32): ${f2(s.e2e.crc32_ns_per_event)} ns/event.`);
}
if (s.parallel) {
  out.push("", `**Parallel replay** (${s.parallel.trace}, all five policies from the file, wall time, median):`, "");
  out.push(table(["jobs", "wall s", "× one job"], s.parallel.rows.map((x) => [x.jobs, f2(x.wall_s), f2(x.speedup_vs_one)])));
  if (s.parallel.groups) {
    out.push("", `The two groups of \`--jobs 2\`, each alone in one thread: ${s.parallel.groups.map((g) => `${g.policies.join(", ")} ${f2(g.wall_s)} s`).join("; ")}; the bound, one job over the slowest group: ${f2(s.parallel.bound_two_groups)}.`);
  }
}
if (s.scaling) {
  out.push("", "**Scaling** (wasm, ns/event, median):", "");
  out.push(table(["events", ...s.scaling.policies], s.scaling.by_events.map((x) => [x.events.toLocaleString("en"), ...s.scaling.policies.map((p) => f1(x.ns_per_event[p]))])));
  out.push("", `Largest / smallest cost per event over the events curve: ${Object.entries(s.scaling.flatness).map(([p, v]) => `${p} ${f2(v)}`).join(", ")}.`, "");
  out.push(table(["inodes", ...s.scaling.policies], s.scaling.by_inodes.map((x) => [x.inodes.toLocaleString("en"), ...s.scaling.policies.map((p) => f1(x.ns_per_event[p]))])));
}
if (s.contention?.results.some((x) => x.hot_inodes !== undefined)) {
  out.push("", `**Contention** (threaded build on shared memory, ${s.contention.workload}; medians):`, "");
  out.push(table(["partition", "policy", "hot inodes", "workers", "ns / check per worker", "CPU ns / check", "waiting for a CPU", "M checks/s", "× one worker", "× one, CPU time", "spins / acquisition"],
    s.contention.results.map((x) => [x.partition, x.policy, x.hot_inodes, x.workers, f1(x.ns_per_check), f1(x.cpu_ns_per_check), `${Math.round(100 * x.waiting_share)}%`,
      f1(x.events_per_s / 1e6), f2(x.speedup_vs_one), f2(x.cpu_speedup_vs_one), x.spins_per_acquisition])));
} else if (s.contention) {
  out.push("", `**Contention** (threaded build on shared memory, ${s.contention.events.toLocaleString("en")} events, ${s.contention.workload}):`, "");
  out.push(table(["partition", "policy", "workers", "events/s", "× one worker", "spins / acquisition", "outcomes differing from one worker"],
    s.contention.results.map((x) => [x.partition, x.policy, x.workers, M(x.events_per_s), f2(x.speedup_vs_one), x.spins_per_acquisition,
      Object.entries(x.outcomes_differing_from_one_thread).filter(([k]) => !k.startsWith("lock_")).map(([k, v]) => `${k} ${v.one_thread}→${v.threads}`).slice(0, 4).join(", ") || "none"])));
}
if (s.memory) {
  const m = s.memory;
  out.push("", `**Memory** (the CLI, \`synth --events ${m.events}\` then \`replay\` under every policy, --jobs ${m.jobs}; ${f2(m.bytes_per_event)} bytes/event on disk):`, "");
  out.push(table(["replay", "wall", "peak RSS"], [
    ["plain", `${m.replay.wall_s} s`, `${m.replay.peak_rss_mb} MB`],
    [m.replay_injected.options, `${m.replay_injected.wall_s} s`, `${m.replay_injected.peak_rss_mb} MB`],
  ]));
}
if (r.summary) {
  const t = r.summary;
  const rows = [];
  if (t.parallel_speedup !== undefined) rows.push(["parallel replay, 2 jobs against 1", "≥ 1.80", f2(t.parallel_speedup), f2(t.parallel_bound)]);
  for (const [set, v] of Object.entries(t.e2e_ratio ?? {})) rows.push([`from the file / in memory, ${set === "all" ? "all five" : set}`, "≥ 0.90", f2(v), f2(t.e2e_bound?.[set])]);
  for (const p of Object.keys(t).filter((k) => typeof t[k] === "object" && t[k]?.wasm_events_per_s !== undefined)) {
    const x = t[p];
    if (x.native_events_per_s) rows.push([`${p}: wasm time / C time`, "≤ 1.10", f2(x.native_events_per_s / x.wasm_events_per_s), "–"]);
    rows.push([`${p}: wasm / TypeScript throughput`, "≥ 3.00", f2(x.wasm_events_per_s / x.js_events_per_s), "–"]);
  }
  if (t.contention_control_speedup !== undefined) rows.push(["contention control, 2 workers (wall; CPU)", "≥ 1.80", `${f2(t.contention_control_speedup)}; ${f2(t.contention_control_cpu_speedup)}`, "–"]);
  if (t.peak_rss_mb !== undefined) {
    const m = t.peak_rss_mb;
    rows.push([`peak RSS, ${M(m.events)} events, five policies, --jobs ${m.jobs}: plain; injected`, "≤ 250 MB; ≤ 300 MB", `${m.plain} MB; ${m.injected} MB`, "–"]);
  }
  if (rows.length > 0) out.push("", "**Targets** (issue 16), from this run:", "", table(["target", "wanted", "measured", "bound measured"], rows));
}
console.log(out.join("\n"));
