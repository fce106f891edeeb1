// Trace size and memory at scale: synth N events to a file, replay it under every policy (plainly, then with injected
// restarts and re-downloads), and record bytes per event, wall time and peak RSS of each process (GNU time's
// maximum resident set size).
// Usage: node bench/trace-scale.mjs [EVENTS ...]   (default: 10000000 100000000; needs `npm run build`)
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import { join } from "node:path";

const cli = new URL("../dist/cli/bin.js", import.meta.url).pathname;
const sizes = process.argv.slice(2).map(Number);
if (sizes.length === 0) sizes.push(10_000_000, 100_000_000);

const dir = mkdtempSync(join(tmpdir(), "fbreplay-bench-"));
const results = [];
try {
  for (const events of sizes) {
    const file = join(dir, `synth-${events}.fbt`);
    const synth = spawnTimed(["synth", "--events", String(events), "--seed", "1", "-o", file]);
    const bytes = statSync(file).size;
    const replay = spawnTimed(["replay", file, "--json"]);
    const report = JSON.parse(replay.stdout);
    const injectedRun = spawnTimed(["replay", file, "--json", "--restart-every", String(Math.floor(events / 10)), "--redownload-rate", "0.001"]);
    const injected = JSON.parse(injectedRun.stdout);
    const row = {
      events,
      trace_bytes: bytes,
      bytes_per_event: Number((bytes / events).toFixed(2)),
      synth: { wall_s: synth.wall, peak_rss_mb: synth.rssMb },
      replay: {
        wall_s: replay.wall,
        peak_rss_mb: replay.rssMb,
        policies: Object.keys(report.policies).length,
        events_replayed_per_policy: report.events,
        ns_per_event: Object.fromEntries(Object.entries(report.policies).map(([p, o]) => [p, Number(o.ns_per_event.toFixed(1))])),
      },
      replay_injected: {
        options: "--restart-every events/10 --redownload-rate 0.001",
        wall_s: injectedRun.wall,
        peak_rss_mb: injectedRun.rssMb,
        restarts: injected.injected.restarts,
        redownloads: injected.injected.redownloads,
        ns_per_event: Object.fromEntries(Object.entries(injected.policies).map(([p, o]) => [p, Number(o.ns_per_event.toFixed(1))])),
      },
    };
    results.push(row);
    console.log(JSON.stringify(row));
    rmSync(file);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const manifest = { node: process.version, v8: process.versions.v8, cpu: cpus()[0]?.model, cores: cpus().length, date: new Date().toISOString() };
writeFileSync(new URL("./results/trace-scale.json", import.meta.url), `${JSON.stringify({ manifest, results }, null, 2)}\n`);

function spawnTimed(args) {
  const started = process.hrtime.bigint();
  const r = spawnSyncChecked("/usr/bin/time", ["-f", "@@peak_rss_kb=%M", process.execPath, cli, ...args]);
  const m = /@@peak_rss_kb=(\d+)/.exec(r.stderr);
  return { stdout: r.stdout, wall: Number((Number(process.hrtime.bigint() - started) / 1e9).toFixed(2)), rssMb: m ? Math.round(Number(m[1]) / 1024) : null };
}

function spawnSyncChecked(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${args.slice(2).join(" ")} failed (${r.status}): ${r.stderr.trim().split("\n").pop()}`);
  return r;
}
