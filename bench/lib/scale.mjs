// A synthetic trace of N events written to a file by the CLI, then replayed by the CLI under every policy (default
// --jobs), plainly and with injected restarts and re-downloads: the file's bytes per event, and each process's wall
// time and peak RSS. Used by the memory suite (bench/suites/memory.mjs) and bench/trace-scale.mjs.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cli = new URL("../../dist/cli/bin.js", import.meta.url).pathname;
const preload = new URL("./peak-rss.mjs", import.meta.url).href;

/** The options of the injected replay, for `events` events: ten restarts and a re-download per thousand opens. */
export const injectedOptions = (events) => ["--restart-every", String(Math.floor(events / 10)), "--redownload-rate", "0.001"];

export function traceAtScale(events, log = () => {}) {
  const dir = mkdtempSync(join(tmpdir(), "fbreplay-scale-"));
  try {
    const file = join(dir, `synth-${events}.fbt`);
    log(`writing a ${events.toLocaleString("en")}-event synthetic trace`);
    const synth = spawnMeasured(["synth", "--events", String(events), "--seed", "1", "-o", file]);
    const bytes = statSync(file).size;
    log(`replaying ${events.toLocaleString("en")} events under every policy`);
    const plain = spawnMeasured(["replay", file, "--json"]);
    const report = JSON.parse(plain.stdout);
    log(`replaying ${events.toLocaleString("en")} events under every policy, with injected restarts and re-downloads`);
    const injectedRun = spawnMeasured(["replay", file, "--json", ...injectedOptions(events)]);
    const injected = JSON.parse(injectedRun.stdout);
    const perEvent = (r) => Object.fromEntries(Object.entries(r.policies).map(([p, o]) => [p, Number(o.ns_per_event.toFixed(1))]));
    return {
      events,
      trace_bytes: bytes,
      bytes_per_event: Number((bytes / events).toFixed(2)),
      synth: { wall_s: synth.wall, peak_rss_mb: synth.rssMb },
      replay: {
        wall_s: plain.wall,
        peak_rss_mb: plain.rssMb,
        policies: Object.keys(report.policies).length,
        events_replayed_per_policy: report.events,
        ns_per_event: perEvent(report),
      },
      replay_injected: {
        options: "--restart-every events/10 --redownload-rate 0.001",
        wall_s: injectedRun.wall,
        peak_rss_mb: injectedRun.rssMb,
        restarts: injected.injected.restarts,
        redownloads: injected.injected.redownloads,
        ns_per_event: perEvent(injected),
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function spawnMeasured(args) {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ["--import", preload, cli, ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`fbreplay ${args.join(" ")} failed (${r.status ?? r.signal}): ${r.stderr.trim().split("\n").pop()}`);
  const m = /@@peak_rss_kb=(\d+)/.exec(r.stderr);
  if (m === null) throw new Error(`fbreplay ${args.join(" ")}: no peak RSS reported`);
  return { stdout: r.stdout, wall: Number((Number(process.hrtime.bigint() - started) / 1e9).toFixed(2)), rssMb: Math.round(Number(m[1]) / 1024) };
}
