#!/usr/bin/env node
// npm run fuzz: seeded fuzzing of every input fbreplay reads (traces, libfuse and strace logs, native daemon records,
// CLI options) and a differential run of the wasm core against the TypeScript model. Inputs run in worker threads of
// this process (thousands per second); the parent watches each worker's current input for hangs and the process's
// RSS for memory over budget; a sample also runs through the real CLI in child processes. Every run is classified
// OK / clean error / defect; the exit status is 1 when there is any defect.
//
//   node scripts/fuzz/run.mjs [--seed S] [--count N] [--targets a,b] [--sample N] [--jobs J] [--json FILE]
//                             [--minutes M: stop each target at its share of M minutes, counting what ran]
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { Rng } from "./mutate.mjs";
import { inputSeed } from "./worker.mjs";

export const ALL_TARGETS = ["trace", "libfuse", "strace", "native", "cli", "differential"];
/** A single input running longer than this is a hang (inputs are small: most take milliseconds). */
export const HANG_MS = 20_000;
/** The process's RSS beyond this is memory over budget (replays run with --max-memory 256M). */
export const RSS_LIMIT = 1536 << 20;
/** Peak RSS of one spawned CLI run beyond this is memory over budget. */
export const SPAWN_RSS_LIMIT = 300 << 20;

const ROOT = new URL("../../", import.meta.url).pathname;
/** Preloaded into each spawned CLI: its peak RSS on stderr at exit (the benchmarks measure the same way). */
const PEAK_RSS = new URL("../../bench/lib/peak-rss.mjs", import.meta.url).href;

/**
 * Runs inputs [0, count) of a target on `jobs` workers; resolves to its counts, defects and wall time. With
 * `seconds`, the workers stop taking inputs when that time is up: the counts then say how many ran (from 0 in each
 * worker's range, so the same seed runs the same inputs).
 */
export function fuzzTarget(target, { seed, count, jobs, onProgress, defectsDir, seconds, interruptMs }) {
  const started = Date.now();
  const totals = { ok: 0, clean: 0, defect: 0 };
  const defects = [];
  const shapes = {};
  const per = Math.ceil(count / jobs);
  const ranges = [];
  for (let j = 0; j < jobs; j++) if (j * per < count) ranges.push([j * per, Math.min(count, (j + 1) * per)]);
  return new Promise((resolve) => {
    let live = 0;
    let timeUp = false;
    const flags = [];
    const timer = seconds === undefined ? undefined : setTimeout(() => { timeUp = true; for (const f of flags) Atomics.store(f, 2, 1); }, seconds * 1000);
    const spawnWorker = (start, end) => {
      if (start >= end) return;
      live++;
      const dir = mkdtempSync(join(tmpdir(), `fbreplay-fuzz-${target}-`));
      // [0]: the input running now; [1]: ticks, one per input; [2]: 1 when the time is up
      const slot = new SharedArrayBuffer(12);
      const shared = new Int32Array(slot);
      shared[0] = start;
      shared[2] = timeUp ? 1 : 0;
      flags.push(shared);
      const w = new Worker(new URL("./worker.mjs", import.meta.url), { workerData: { target, seed, start, end, dir, slot, defectsDir, interruptMs } });
      let lastTick = -1;
      let since = Date.now();
      let finished = false;
      const stop = (defect) => {
        if (finished) return;
        finished = true;
        clearInterval(watch);
        const at = Atomics.load(shared, 0);
        if (defect !== undefined) {
          totals.defect++;
          defects.push({ target, index: at, ...defect });
        }
        void w.terminate().then(() => {
          rmSync(dir, { recursive: true, force: true });
          live--;
          if (defect !== undefined) spawnWorker(at + 1, end); // go on after the input that failed
          if (live === 0) clearTimeout(timer);
          if (live === 0) resolve({ target, ...totals, inputs: totals.ok + totals.clean + totals.defect, defects, shapes, seconds: (Date.now() - started) / 1000 });
        });
      };
      const watch = setInterval(() => {
        const tick = Atomics.load(shared, 1);
        if (tick !== lastTick) { lastTick = tick; since = Date.now(); }
        else if (Date.now() - since > HANG_MS) stop({ kind: "hang", detail: `no progress for ${HANG_MS / 1000} s` });
        const rss = process.memoryUsage.rss();
        if (rss > RSS_LIMIT) stop({ kind: "memory over budget", detail: `RSS ${Math.round(rss / 2 ** 20)} MiB` });
      }, 100);
      w.on("message", (m) => {
        if (m.type !== "progress") return;
        for (const k of Object.keys(totals)) totals[k] += m.counts[k];
        for (const [k, n] of Object.entries(m.shapes)) shapes[k] = (shapes[k] ?? 0) + n;
        defects.push(...m.defects);
        onProgress?.(target, totals);
      });
      w.on("error", (e) => stop({ kind: `crash: ${e.name}`, detail: String(e.message).split("\n")[0] }));
      w.on("exit", (code) => { if (!finished) stop(code === 0 ? undefined : { kind: `worker exit ${code}` }); });
    };
    for (const [s, e] of ranges) spawnWorker(s, e);
  });
}

/** A sample through the real CLI: child processes, each reporting its peak RSS (bench/lib/peak-rss.mjs). */
export async function spawnSample({ seed, count }) {
  const { makeTrace } = await import("./targets.mjs");
  const dir = mkdtempSync(join(tmpdir(), "fbreplay-fuzz-spawn-"));
  const result = { target: "spawned CLI", ok: 0, clean: 0, defect: 0, defects: [], peak_rss_mb: 0 };
  const started = Date.now();
  try {
    for (let i = 0; i < count; i++) {
      const rng = new Rng(inputSeed(seed, "spawn", i));
      const path = join(dir, "in.fbt");
      writeFileSync(path, makeTrace(rng).bytes);
      const argv = rng.chance(0.5) ? ["inspect", path] : ["replay", path, "--scale", String(1 + rng.int(4)), "--restart-every", "10", "--redownload-rate", "0.1"];
      const r = spawnSync(process.execPath, ["--import", PEAK_RSS, join(ROOT, "dist/cli/bin.js"), ...argv], { encoding: "utf8", timeout: HANG_MS });
      const rssLine = r.stderr.split("\n").find((l) => l.startsWith("@@peak_rss_kb="));
      const rss = rssLine ? Number(rssLine.split("=")[1]) * 1024 : 0;
      result.peak_rss_mb = Math.max(result.peak_rss_mb, Math.round(rss / 2 ** 20));
      const errLines = r.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("@@peak_rss_kb="));
      let defect;
      if (r.error?.code === "ETIMEDOUT" || r.signal) defect = { kind: "hang", detail: argv.join(" ") };
      else if (rss > SPAWN_RSS_LIMIT) defect = { kind: "memory over budget", detail: `${Math.round(rss / 2 ** 20)} MiB: ${argv.join(" ")}` };
      else if (r.status === 0) result.ok++;
      else if (r.status === 2 && errLines.length === 1 && errLines[0].startsWith(`fbreplay: ${path}`) && r.stdout === "") result.clean++;
      else defect = { kind: `exit ${r.status}`, detail: `${argv.join(" ")}: ${errLines.join(" | ").slice(0, 300)}` };
      if (defect) {
        result.defect++;
        result.defects.push({ target: "spawn", index: i, ...defect });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { ...result, inputs: count, seconds: (Date.now() - started) / 1000 };
}

export function formatSummary(results, seed) {
  const rows = [["target", "inputs", "OK", "clean error", "defect", "seconds"]];
  for (const r of results) rows.push([r.target, String(r.inputs), String(r.ok), String(r.clean), String(r.defect), r.seconds.toFixed(1)]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ");
  const lines = [`fuzz, seed ${seed}:`, line(rows[0]), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)];
  const defects = results.flatMap((r) => r.defects);
  const kinds = new Map();
  for (const d of defects) kinds.set(`${d.target}: ${d.kind}`, [...(kinds.get(`${d.target}: ${d.kind}`) ?? []), d]);
  for (const [k, ds] of kinds) lines.push(`  ${k}: ${ds.length} (first: input ${ds[0].index}${ds[0].argv ? ` argv ${JSON.stringify(ds[0].argv)}` : ""}: ${ds[0].detail ?? ""})`);
  return lines.join("\n");
}

async function cli() {
  const { values } = parseArgs({
    options: {
      seed: { type: "string", default: "1" }, count: { type: "string", default: "100000" }, targets: { type: "string" },
      sample: { type: "string", default: "200" }, jobs: { type: "string", default: "2" }, json: { type: "string" }, "keep-defects": { type: "string" },
      minutes: { type: "string" },
    },
  });
  const seed = Number(values.seed);
  const count = Number(values.count);
  const targets = values.targets?.split(",") ?? ALL_TARGETS;
  for (const t of targets) if (!ALL_TARGETS.includes(t)) throw new Error(`unknown target ${t} (one of ${ALL_TARGETS.join(", ")})`);
  if (values["keep-defects"]) mkdirSync(values["keep-defects"], { recursive: true });
  const results = [];
  const started = Date.now();
  const tty = process.stderr.isTTY;
  // --minutes: each target gets an equal share of what is left (a target done early leaves its time to the next)
  const deadline = values.minutes === undefined ? undefined : started + Number(values.minutes) * 60_000;
  for (const [i, target] of targets.entries()) {
    const seconds = deadline === undefined ? undefined : Math.max(1, (deadline - Date.now()) / 1000 / (targets.length - i));
    results.push(await fuzzTarget(target, {
      seed, count, jobs: Number(values.jobs), defectsDir: values["keep-defects"], seconds,
      onProgress: (t, c) => {
        const done = c.ok + c.clean + c.defect;
        if (tty) process.stderr.write(`\r${t}: ${done}/${count} (${c.defect} defects) `);
        else if (done % 10_000 === 0) process.stderr.write(`${t}: ${done}/${count}: ${c.ok} OK, ${c.clean} clean errors, ${c.defect} defects, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
      },
    }));
    if (tty) process.stderr.write("\n");
    process.stderr.write(`${target}: done in ${results.at(-1).seconds.toFixed(1)} s\n`);
  }
  if (Number(values.sample) > 0) results.push(await spawnSample({ seed, count: Number(values.sample) }));
  const summary = formatSummary(results, seed);
  process.stdout.write(`${summary}\n${((Date.now() - started) / 1000).toFixed(0)} s in all\n`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ seed, count, results }, null, 2)}\n`);
  return results.some((r) => r.defect > 0) ? 1 : 0;
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) process.exitCode = await cli();
