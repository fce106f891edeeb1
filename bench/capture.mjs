#!/usr/bin/env node
// `fbreplay capture`'s cost and capacity on a parallel workload (needs root, scripts/build-capture.sh and
// scripts/build-passthrough-hp.sh): passthrough_hp (multi-threaded, real passthrough) over FILES small files;
// WORKERS processes open, read and close them in a tight loop for SECONDS each round. Rounds alternate without and
// with `fbreplay capture` running on the mount (A B A B …), so each ratio is taken within one run. Reports opens/s,
// FUSE requests/s the kernel sent (counted by the capture), records/s, and the records lost.
//   node bench/capture.mjs [--rounds 3] [--seconds 5] [--workers 4] [--files 64] [--ring-kib 16384] [--json]
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, cpus, release } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" }, seconds: { type: "string", default: "5" }, workers: { type: "string", default: "4" },
    files: { type: "string", default: "64" }, "ring-kib": { type: "string" }, json: { type: "boolean", default: false },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const workers = Number(values.workers);
const files = Number(values.files);
const root = resolve(import.meta.dirname, "..");
const CLI = join(root, "dist/cli/bin.js");
const HP = join(root, "build/passthrough_hp/passthrough_hp");

const dir = mkdtempSync(join(tmpdir(), "fbreplay-bench-capture-"));
const src = join(dir, "src");
const mnt = join(dir, "mnt");
mkdirSync(src);
mkdirSync(mnt);
for (let i = 0; i < files; i++) writeFileSync(join(src, `f${i}`), Buffer.alloc(4096, i));

const mounted = () => readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => l.split(" ")[4] === mnt);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** WORKERS processes, each opening, reading and closing the files in turn for SECONDS; total opens. */
async function workload() {
  const code = `const fs=require("fs");const b=Buffer.alloc(4096);let n=0;const end=Date.now()+${seconds * 1000};` +
    `while(Date.now()<end){for(let i=0;i<${files};i++){const fd=fs.openSync("f"+((i*7+process.pid)%${files}),"r");fs.readSync(fd,b,0,4096,0);fs.closeSync(fd);n++;}}` +
    `process.stdout.write(String(n));`;
  const runs = Array.from({ length: workers }, () => new Promise((res) => {
    const c = spawn(process.execPath, ["-e", code], { cwd: mnt, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    c.stdout.on("data", (d) => { out += d; });
    c.on("exit", () => res(Number(out)));
  }));
  return (await Promise.all(runs)).reduce((a, b) => a + b, 0);
}

const TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout) || 100;
/** User + system CPU seconds of a process so far. */
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return NaN;
  }
}
function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ").map(Number);
  } catch {
    return [];
  }
}

/** A round with capture running on the mount: the workload's opens, and what the capture says. */
async function capturedRound(i) {
  const trace = join(dir, `round${i}.fbt`);
  const args = [CLI, "capture", "--mount", mnt, "-o", trace, ...(values["ring-kib"] ? ["--ring-kib", values["ring-kib"]] : [])];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  const ready = new Promise((res) => child.stderr.on("data", (d) => { stderr += d; if (stderr.includes("Ctrl-C to stop")) res(); }));
  const exited = new Promise((res) => child.on("exit", (code) => res(code)));
  await Promise.race([ready, exited]);
  const opens = await workload();
  const cpu = { node: cpuSeconds(child.pid), loader: cpuSeconds(childrenOf(child.pid)[0]) };
  const stopAt = process.hrtime.bigint();
  child.kill("SIGINT");
  const status = await exited;
  const writeS = Number(process.hrtime.bigint() - stopAt) / 1e9;
  if (status !== 0) throw new Error(`capture failed (${status}): ${stderr}`);
  const records = Number(/, (\d+) records\n/.exec(stderr)?.[1] ?? NaN);
  const lost = Number(/lost (\d+) records/.exec(stderr)?.[1] ?? 0);
  const traceOpens = Number(/\((\d+) opens,/.exec(stderr)?.[1] ?? NaN);
  rmSync(trace, { force: true });
  return { opens, records, lost, traceOpens, writeS, cpu };
}

const hp = spawn(HP, ["--foreground", src, mnt], { stdio: "ignore" });
try {
  const deadline = Date.now() + 10_000;
  while (!mounted() && Date.now() < deadline) await sleep(20);
  if (!mounted()) throw new Error("passthrough_hp did not mount (scripts/build-passthrough-hp.sh?)");
  await workload(); // warm: lookups, dentries, page cache
  const rows = [];
  for (let i = 0; i < rounds; i++) {
    const plain = await workload();
    const cap = await capturedRound(i);
    rows.push({ plain_opens_per_s: plain / seconds, capture_opens_per_s: cap.opens / seconds, ratio: cap.opens / plain,
      records_per_s: cap.records / seconds, lost: cap.lost, trace_opens: cap.traceOpens, workload_opens: cap.opens, trace_write_s: cap.writeS,
      capture_cpu_s: cap.cpu.node, loader_cpu_s: cap.cpu.loader });
  }
  const result = {
    bench: "capture", kernel: release(), cpus: cpus().length, cpu: cpus()[0]?.model, workers, files, seconds, rounds,
    ring_kib: values["ring-kib"] ? Number(values["ring-kib"]) : 16384, rows,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    console.log(`capture on passthrough_hp, ${workers} workers × ${files} files, ${seconds} s rounds, ${result.cpus} CPUs (${result.cpu}), ${result.kernel}`);
    console.log("round  opens/s plain  opens/s captured  ratio  records/s  lost  opens in trace / made  trace write s  cpu s node/loader");
    rows.forEach((r, i) => console.log(`${String(i + 1).padStart(5)}  ${r.plain_opens_per_s.toFixed(0).padStart(13)}  ${r.capture_opens_per_s.toFixed(0).padStart(16)}  ${r.ratio.toFixed(3)}  ${r.records_per_s.toFixed(0).padStart(9)}  ${String(r.lost).padStart(4)}  ${`${r.trace_opens} / ${r.workload_opens}`.padStart(21)}  ${r.trace_write_s.toFixed(2).padStart(13)}  ${r.capture_cpu_s.toFixed(2)}/${r.loader_cpu_s.toFixed(2)}`));
  }
} finally {
  if (mounted()) spawnSync("fusermount3", ["-u", mnt]);
  hp.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
