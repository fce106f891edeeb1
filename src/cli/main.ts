#!/usr/bin/env node
// fbreplay's command line: it parses arguments and wires the stages together, nothing else.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { release } from "node:os";
import { rmSync } from "node:fs";
import { IngestError, failedOpens, ingestLibfuseDebug, ingestStrace, type IngestSummary } from "../ingest/index.js";
import { formatTraceStats, inspectTrace } from "../inspect/index.js";
import { ResultsError, compareResults, formatComparison, parseHistory, parseResults, type BenchResults } from "../compare/index.js";
import { EXPORT_FORMATS, exportResults, type ExportFormat } from "../compare/export.js";
import { formatTrends, trends } from "../compare/history.js";
import { DEFAULT_ALPHA, DEFAULT_THRESHOLD } from "../compare/stats.js";
import { writeNativeCapture } from "../ingest/native.js";
import { formatOracle, runOracle } from "../oracle/index.js";
import { readReportInput, renderReport } from "../report/index.js";
import { RecordError, record } from "../record/index.js";
import { recordNative, recordsOf } from "../record/native.js";
import {
  DAEMONS, ENGINES, POLICIES, formatReplaySummary, formatReplayTable, replayTrace,
  type DaemonModel, type EngineName, type Policy, type ReplayReport,
} from "../replay/index.js";
import { formatScenarioTable, runScenarios } from "../scenarios/index.js";
import { describeSynth, synth, validateSynthOptions, type SynthOptions } from "../synth/index.js";
import { TraceWriter, openTrace } from "../trace/index.js";
import { TraceError } from "../trace/types.js";
import { Progress } from "./progress.js";
import { CliUsageError, VM_HELP, kernelCheckCommand, KERNEL_CHECK_HELP, vmCommand } from "./kernel.js";

const HELP = `fbreplay: what each FUSE passthrough conflict policy does to a workload, and what it costs

usage: fbreplay <command> [options]

commands:
  scenarios      replay the conflict scenarios S1–S5 of the kernel spec (§d) under every policy and
                 print the policy × scenario table
  replay TRACE…  replay traces under every policy, with injected restarts, re-downloads, replacements
  inspect TRACE  what a trace holds: events by kind, overlapping opens, nodeid reuse, backing files
  synth          write a seeded synthetic trace
  ingest         turn a libfuse debug log (-d, with the daemon's strace) or a workload's strace into a trace
  record         run a command on a FUSE mount (bindfs, libfuse's passthrough_hp, or fbreplay's own passthrough
                 daemon) and record its opens into a trace
  oracle TRACE   compare the kernel's verdict on each open of a native capture with the model's
  vm -- CMD      run a command on the kernel that carries a policy (Linux 6.12 + our patch, under qemu)
  kernel-check   every policy's scenarios and workloads on its own kernel, open by open against the model
  compare BASE HEAD   benchmark results: timing regressions (statistical) and behaviour changes (exact)
  history        the trend of every benchmark over bench/history.jsonl, with change points
  export RESULTS the benchmarks of a results file for other trackers (Bencher BMF, github-action-benchmark, CSV)
  report RESULTS…  one self-contained HTML file: scenarios, outcomes, timings with intervals, curves, trend
  help           this text

options of scenarios:
  --json                 print {"<scenario>": {"<policy>": {result, internal, unsafe, stale}}}
  --engine wasm|js       the AssemblyScript core (default) or the TypeScript reference model
  --policy P,...         policies to run (default: ${POLICIES.join(",")})

options of replay:
  --policy P,...         policies (default: all)
  --engine wasm|js       (default wasm)
  --daemon per-inode|per-open|recorded
                         which backing id each open carries (default per-inode, like passthrough_hp);
                         recorded: the ids a passthrough daemon really used, from its capture
                         (\`record --daemon native\` or \`passthrough_hp\`), with no injection
  --restart-every N      a daemon restart (fd kept, ids forgotten) before every N-th replayed event
  --restart-at E,...     daemon restarts before these replayed event indices
  --close-all            restarts also run BACKING_CLOSE_ALL (otherwise old ids stay registered)
  --redownload-rate P    per open, probability the file was deleted and re-downloaded (new inode, same bytes)
  --replace-rate P       per open, probability the file was replaced by new content (new inode)
  --scale K              replay K copies over disjoint inode namespaces, interleaved (default 1)
  --seed S               seed of the injections (default 1): same trace + options + seed = same counts
  --json                 print the results as JSON (one object per trace; an array for several traces)

options of inspect:
  --json                 {"events", "opens", "releases", "overlapping_opens", "nodeid_reuse",
                          "backing_inodes", "digests", "shared_digests", "duration_ns", ...}

options of synth:
  --events N             events to write (required)
  --seed S               seed (required); same options and seed = identical trace
  -o, --output FILE      the trace file to write (required)
  --inodes N             distinct files (default 100000)
  --skew X               Zipf exponent of file popularity (default 0.9)
  --max-open N           concurrent open files (default 4096)
  --write-fraction P     opens that may write (default 0.1)
  --replace-rate P       per open: replaced since its last open (default 0.001)
  --redownload-rate P    per open: deleted and re-downloaded (default 0.001)
  --forget-rate P        per event: FORGET of an idle inode, its nodeid reused (default 0.01)

options of ingest:
  --from libfuse-debug   a daemon's -d log (libfuse 2 high-level, libfuse 3 low-level, "dev "-prefixed; .gz as a stream)
  --from strace          a workload's \`strace -f -tt -y\` log of a FUSE mount (needs --mount DIR)
  --mount DIR            with --from strace: the mount point; only files below it count
  LOG                    the log file
  --source-dir DIR       the daemon's source directory: backing identity and sha256 from DIR + the FUSE path
  --identities FILE      identities taken at open time by \`fbreplay record\` (JSON lines)
  --daemon-strace FILE   the daemon's own \`strace -f -tt -v -y -s 256\` (.gz as a stream): each open's backing file
                         (path, st_dev/st_ino) and the backing ids of its FUSE_DEV_IOC_BACKING_OPEN calls and open
                         replies. passthrough_hp's \`--debug\` lines (setup/reusing/closed backing file N) in LOG
                         give ids too; with ids the trace replays as it happened under --daemon recorded
  --strict               fail on the first malformed line (otherwise they are counted and reported)
  -o, --output FILE      the trace to write (required)

options of record:  fbreplay record [--daemon bindfs|passthrough_hp|native] [--src DIR] [--keep DIR] -o TRACE -- CMD ARGS...
  --src DIR              copied into the scratch source before mounting (default: start empty)
  --daemon bindfs        bindfs -d, CMD under strace (default): no passthrough, backing ids modelled at replay
  --daemon passthrough_hp  libfuse's passthrough_hp (3.16+, real kernel passthrough, one shared backing id per
                         inode) under strace: its --debug lines give each open's backing id, its strace each
                         backing file. scripts/build-passthrough-hp.sh builds it from Debian's libfuse source
  --daemon native        fbreplay's own daemon on /dev/fuse with real kernel passthrough (Linux 6.9+): the trace
                         carries the backing id of every open and the kernel's verdict on it (see oracle).
                         Needs the native addon (npm run build:native).
  --model per-inode|per-open   native: how the daemon hands out backing ids (default per-inode, like passthrough_hp)
  --restart-every N      native: the daemon forgets its ids after every N opens, as after a restart (the kernel
                         connection stays, so the kernel's conflict check judges the opens that follow)
  --restart-at K,...     native: restart before open number K (1-based)
  --close-ids            native: restarts close the old ids first (default: they leak, as after a crash)
  --keep DIR             keep the raw captures (bindfs: daemon.log, identities.jsonl, workload.strace;
                         passthrough_hp: daemon.log, daemon.strace, workload.strace; native: records.jsonl,
                         workload.strace) in DIR
  -o, --output FILE      the trace to write (required)
  CMD runs with the mount as its working directory. Needs root and /dev/fuse (bindfs: also bindfs, fusermount3,
  strace; scripts/install-fuse.sh installs them). The mount is always taken down, also when CMD fails or on
  Ctrl-C; no trace is written then.

options of oracle:  fbreplay oracle TRACE [--json]
  Replays a native capture through the reference model with policy ptr, once with the ids the daemon recorded
  and once with the daemon model it ran (and the same restarts), and compares each open's verdict with the
  kernel's. Prints agreements and every mismatch with its context; exit 1 if any open disagrees.

${VM_HELP}

${KERNEL_CHECK_HELP}

policies:
  ptr     mainline: the new open's fuse_backing must be the inode's cached object
  inode   the v2/v3 relaxed check: same backing inode
  digest  same backing inode, or same 32-byte content digest (hypothetical)
  reuse   FOPEN_PASSTHROUGH_INODE_CACHE: reuse the inode's cached backing, ignore the id (RFC 2/2)
  lookup  backing attached at LOOKUP, opens reply with backing id 0 (P4b, Amir's variant)

options of compare:  fbreplay compare BASE.json HEAD.json [--threshold 5%] [--alpha 0.05] [--json]
  Timings: per benchmark, a two-sided Mann–Whitney U test of the samples and a bootstrap interval of the ratio of
  medians; "regressed"/"improved" only when p < alpha, the change exceeds the noise floor --threshold and the
  interval excludes 1; fewer than 5 samples on a side gives "too few samples". Outcomes: every counter of every
  policy on every workload must be identical (same trace and options replay deterministically).
  Exit 1 on a regression or a behaviour change, 2 on bad input (unreadable, another schema, different traces).

options of history:  fbreplay history [FILE] [--quick] [--threshold 5%] [--alpha 0.05] [--json]
  FILE defaults to bench/history.jsonl (every complete \`npm run bench\` appends to it); --quick shows the quick runs.

options of report:  fbreplay report RESULTS.json… [--history FILE] [-o report.html]
  The newest results file (last) is described; the history (default bench/history.jsonl when it exists) gives the
  trend. The file opens offline: inline styles and SVG charts, no script needed, no external request.

options of export:  fbreplay export RESULTS.json --format bmf|github|csv [-o FILE]
  bmf: Bencher Metric Format (measure "latency", ns); github: github-action-benchmark customSmallerIsBetter;
  csv: name,unit,median,lower,upper,samples,commit,date. Values are medians with 95% bootstrap intervals.

exit status: 0 on success, 2 on bad usage or bad input (one line naming the file and where),
130 when interrupted (a partial replay is printed, marked as such), 1 on an internal error.`;

class UsageError extends Error {}

function parseList<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T[] {
  if (value === undefined) return [...allowed];
  const items = value.split(",").map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (!allowed.includes(item as T)) throw new UsageError(`unknown ${what} '${item}' (one of: ${allowed.join(", ")})`);
  }
  if (items.length === 0) throw new UsageError(`--${what} needs at least one value`);
  return items as T[];
}

function parseEngine(value: string | undefined): EngineName {
  if (value === undefined) return "wasm";
  if (!ENGINES.includes(value as EngineName)) throw new UsageError(`unknown engine '${value}' (one of: ${ENGINES.join(", ")})`);
  return value as EngineName;
}

function scenariosCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: "boolean", default: false },
      engine: { type: "string" },
      policy: { type: "string" },
    },
    strict: true,
  });
  const policies: Policy[] = parseList(values.policy, POLICIES, "policy");
  const run = runScenarios(parseEngine(values.engine), policies);
  if (run.violations.length > 0) {
    throw new Error(`model invariants broken: ${run.violations.join("; ")}`);
  }
  process.stdout.write(values.json ? `${JSON.stringify(run.table, null, 2)}\n` : `${formatScenarioTable(run.table, policies)}\n`);
  return 0;
}

function parseNumber(value: string | undefined, name: string, check: (n: number) => boolean, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${name} ${value}: expected ${what}`);
  return n;
}
const count = (v: string | undefined, name: string) => parseNumber(v, name, (n) => Number.isInteger(n) && n >= 1, "an integer >= 1");
const rate = (v: string | undefined, name: string) => parseNumber(v, name, (n) => n >= 0 && n <= 1, "a probability in [0, 1]");
const seed = (v: string | undefined, name: string) => parseNumber(v, name, (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff, "an integer in [0, 2^32)");

/** Ctrl-C stops at the next chunk boundary; a second Ctrl-C exits at once. */
function onInterrupt(): () => boolean {
  let interrupted = false;
  process.once("SIGINT", () => {
    interrupted = true;
    process.stderr.write("\nfbreplay: interrupted, stopping at the next chunk (Ctrl-C again to quit now)\n");
    process.once("SIGINT", () => process.exit(130));
  });
  return () => interrupted;
}

async function replayCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      policy: { type: "string" }, engine: { type: "string" }, daemon: { type: "string" },
      "restart-every": { type: "string" }, "restart-at": { type: "string" }, "close-all": { type: "boolean", default: false },
      "redownload-rate": { type: "string" }, "replace-rate": { type: "string" }, scale: { type: "string" },
      seed: { type: "string" }, json: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (positionals.length === 0) throw new UsageError("replay needs at least one trace file");
  const restartAt = values["restart-at"]?.split(",").map((v) => parseNumber(v, "restart-at", (n) => Number.isInteger(n) && n >= 0, "event indices >= 0")!);
  const plan = {
    engine: parseEngine(values.engine),
    policies: parseList(values.policy, POLICIES, "policy"),
    daemon: parseList(values.daemon, DAEMONS, "daemon")[0] as DaemonModel,
    restartEvery: count(values["restart-every"], "restart-every"),
    restartAt: restartAt?.sort((a, b) => a - b),
    closeAll: values["close-all"],
    redownloadRate: rate(values["redownload-rate"], "redownload-rate"),
    replaceRate: rate(values["replace-rate"], "replace-rate"),
    scale: count(values.scale, "scale"),
    seed: seed(values.seed, "seed") ?? 1,
  };
  if (values.daemon !== undefined && values.daemon.includes(",")) throw new UsageError("--daemon takes one daemon model");
  if (plan.daemon === "recorded") {
    const injected = ["restart-every", "restart-at", "close-all", "redownload-rate", "replace-rate", "scale"].filter((k) => values[k as keyof typeof values]);
    if (injected.length > 0) {
      throw new UsageError(`--daemon recorded replays a capture as it happened: --${injected[0]} would change what the recorded ids refer to`);
    }
  }
  // Every header and trailer is checked before any replay starts, so a bad file named last fails at once.
  const traces = [];
  // The replay copies each chunk into the core at once: the reader may reuse column buffers.
  for (const path of positionals) traces.push(await openTrace(path, { reuseBuffers: true }));
  const interrupted = onInterrupt();
  const reports: ReplayReport[] = [];
  for (const trace of traces) {
    const { path } = trace;
    const progress = new Progress(`replay ${path}`, trace.footer.events, "events", values.json);
    try {
      reports.push(await replayTrace(trace, plan, { onProgress: (p) => progress.update(p.done), interrupted }));
    } finally {
      progress.done();
    }
    if (interrupted()) break;
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2)}\n`);
  } else {
    const tables = reports.map(formatReplayTable);
    if (reports.length > 1) tables.push(formatReplaySummary(reports));
    process.stdout.write(`${tables.join("\n\n")}\n`);
  }
  if (reports.some((r) => !r.complete) || interrupted()) {
    process.stderr.write("fbreplay: interrupted: the counts above cover only the events replayed\n");
    return 130;
  }
  return 0;
}

async function inspectCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: "boolean", default: false } }, strict: true });
  if (positionals.length !== 1) throw new UsageError("inspect takes one trace file");
  const stats = await inspectTrace(await openTrace(positionals[0]));
  process.stdout.write(values.json ? `${JSON.stringify(stats, null, 2)}\n` : `${formatTraceStats(stats)}\n`);
  return 0;
}

async function synthCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      events: { type: "string" }, seed: { type: "string" }, output: { type: "string", short: "o" },
      inodes: { type: "string" }, skew: { type: "string" }, "max-open": { type: "string" },
      "write-fraction": { type: "string" }, "replace-rate": { type: "string" }, "redownload-rate": { type: "string" },
      "forget-rate": { type: "string" },
    },
    strict: true,
  });
  if (values.events === undefined || values.seed === undefined || values.output === undefined) {
    throw new UsageError("synth needs --events N, --seed S and -o FILE");
  }
  const options: SynthOptions = {
    events: count(values.events, "events")!,
    seed: seed(values.seed, "seed")!,
    inodes: count(values.inodes, "inodes"),
    skew: parseNumber(values.skew, "skew", (n) => n >= 0 && n <= 10, "a number in [0, 10]"),
    maxOpenFiles: count(values["max-open"], "max-open"),
    writeFraction: rate(values["write-fraction"], "write-fraction"),
    replaceRate: rate(values["replace-rate"], "replace-rate"),
    redownloadRate: rate(values["redownload-rate"], "redownload-rate"),
    forgetRate: rate(values["forget-rate"], "forget-rate"),
  };
  for (const key of Object.keys(options) as (keyof SynthOptions)[]) if (options[key] === undefined) delete options[key];
  const problem = validateSynthOptions(options);
  if (problem !== null) throw new UsageError(problem);
  const writer = await TraceWriter.create(values.output, {
    source: { format: "synth", options },
    workload: describeSynth(options),
    recorder: { name: "fbreplay synth", version: version() },
    host_kernel: "",
    created: new Date().toISOString(),
  });
  const interrupted = onInterrupt();
  const progress = new Progress(`synth ${values.output}`, options.events);
  let written = 0;
  try {
    for (const item of synth(options)) {
      if (interrupted()) {
        await writer.abort();
        process.stderr.write(`fbreplay: interrupted: ${values.output} not written\n`);
        return 130;
      }
      if (item.backing) writer.addBacking(item.backing);
      if (item.chunk) {
        await writer.writeChunk(item.chunk);
        written += item.chunk.length;
        progress.update(written);
      }
    }
    const footer = await writer.close();
    progress.done();
    process.stderr.write(`wrote ${values.output}: ${footer.events} events, ${footer.backing_files} backing files\n`);
    return 0;
  } catch (err) {
    progress.done();
    await writer.abort();
    throw err;
  }
}

function ingestSummaryLine(output: string, s: IngestSummary): string {
  const malformed = s.malformed > 0 && s.firstMalformed
    ? `; ${s.malformed} malformed lines, first at line ${s.firstMalformed.line}: ${s.firstMalformed.reason}`
    : "";
  const ids = s.recordedOpens + s.backingOpens > 0
    ? `; recorded backing ids: ${s.recordedOpens} of ${s.opens} opens, ${s.backingOpens} registrations, ${s.backingCloses} closes` +
      (s.unknownBackingCloses > 0 ? ` (${s.unknownBackingCloses} more closes whose id the capture does not show)` : "")
    : "";
  const d = s.daemonStrace;
  const strace = d === undefined ? "" : `; daemon strace: ${d.requests} requests, ${d.lines} lines` +
    (s.notInDaemonStrace > 0 ? `, ${s.notInDaemonStrace} opens not in it` : "") +
    (d.truncatedOpenReplies > 0 ? `, ${d.truncatedOpenReplies} open replies cut off (strace -s 256 shows them)` : "") +
    (d.malformed > 0 && d.firstMalformed ? `, ${d.malformed} malformed lines, first at line ${d.firstMalformed.line}: ${d.firstMalformed.reason}` : "");
  return `wrote ${output}: ${s.events} events (${s.opens} opens, ${s.releases} releases, ${s.forgets} forgets), ` +
    `${s.backingFiles} backing files from ${s.lines} log lines${malformed}${ids}${strace}`;
}

async function ingestCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      from: { type: "string" }, "source-dir": { type: "string" }, identities: { type: "string" }, mount: { type: "string" },
      "daemon-strace": { type: "string" }, strict: { type: "boolean", default: false }, output: { type: "string", short: "o" },
    },
    strict: true,
  });
  if (values.from !== "libfuse-debug" && values.from !== "strace") {
    throw new UsageError(values.from === undefined ? "ingest needs --from libfuse-debug or --from strace" : `unknown log format '${values.from}' (supported: libfuse-debug, strace)`);
  }
  if (positionals.length !== 1 || values.output === undefined) throw new UsageError("ingest needs one LOG and -o TRACE");
  if (values.from === "strace" && values["daemon-strace"] !== undefined) {
    throw new UsageError("--daemon-strace goes with --from libfuse-debug (the daemon's log); --from strace reads the workload's");
  }
  if (values.from === "strace" && values.mount === undefined) {
    throw new UsageError("ingest --from strace needs --mount DIR (the FUSE mount the workload used)");
  }
  const [log, output] = [positionals[0], values.output];
  const recorder = { name: "fbreplay ingest", version: version() };
  const progress = new Progress(`ingest ${log}`, 0, "bytes");
  const summary = values.from === "strace"
    ? await ingestStrace({ log, output, mount: values.mount!, strict: values.strict, workload: `strace log ${log}`, recorder })
    : await ingestLibfuseDebug({
      log, output, sourceDir: values["source-dir"], identities: values.identities, daemonStrace: values["daemon-strace"],
      strict: values.strict, workload: `libfuse debug log ${log}`, hostKernel: "", recorder,
      onProgress: (done: number, total: number) => progress.update(done, total),
    });
  progress.done();
  process.stderr.write(`${ingestSummaryLine(values.output, summary)}\n`);
  return 0;
}

async function recordCommand(args: string[]): Promise<number> {
  const split = args.indexOf("--");
  if (split < 0 || split === args.length - 1) throw new UsageError("record needs the command after --: fbreplay record -o TRACE -- CMD ARGS...");
  const { values } = parseArgs({
    args: args.slice(0, split),
    options: {
      src: { type: "string" }, daemon: { type: "string" }, keep: { type: "string" }, output: { type: "string", short: "o" },
      model: { type: "string" }, "restart-every": { type: "string" }, "restart-at": { type: "string" },
      "close-ids": { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.output === undefined) throw new UsageError("record needs -o TRACE");
  const daemon = values.daemon ?? "bindfs";
  if (daemon !== "bindfs" && daemon !== "passthrough_hp" && daemon !== "native") {
    throw new UsageError(`unknown daemon '${daemon}' (one of: bindfs, passthrough_hp, native)`);
  }
  const command = args.slice(split + 1);
  if (daemon === "native") return recordNativeCommand(values, command);
  const nativeOnly = ["model", "restart-every", "restart-at", "close-ids"].filter((k) => values[k as keyof typeof values]);
  if (nativeOnly.length > 0) throw new UsageError(`--${nativeOnly[0]} needs --daemon native`);
  const capture = await record({ daemon, src: values.src, command, workDir: values.keep });
  try {
    const failed = captureFailed(capture, command);
    if (failed !== null) return failed;
    const summary = await ingestLibfuseDebug({
      log: capture.daemonLog, identities: capture.identities ?? undefined, daemonStrace: capture.daemonStrace ?? undefined,
      output: values.output, strict: true, workload: command.join(" "), hostKernel: release(),
      recorder: { name: daemon === "bindfs" ? "fbreplay record (bindfs -d)" : "fbreplay record (passthrough_hp --debug, under strace)", version: version() },
    });
    // passthrough_hp shares one id per inode, so the kernel should refuse none of its opens.
    const witness = daemon === "passthrough_hp" ? await workloadEio(capture.workloadStrace) : null;
    process.stderr.write(`${ingestSummaryLine(values.output, summary)}${witness?.said ?? ""}\n`);
    if (daemon === "passthrough_hp" && summary.recordedOpens > 0 && summary.backingOpens === 0) {
      process.stderr.write("fbreplay: passthrough_hp registered no backing file (the kernel refused FUSE_DEV_IOC_BACKING_OPEN: no FUSE passthrough here?): its opens are not passed through in the trace\n");
    }
    return 0;
  } finally {
    if (values.keep === undefined) rmSync(capture.workDir, { recursive: true, force: true });
  }
}

/**
 * The workload's opens that failed with EIO, by its own strace (with real passthrough: the kernel's refusals), and
 * the words the recorders' summary line gives it.
 */
async function workloadEio(strace: string | null): Promise<{ eio: number | null; said: string }> {
  if (strace === null) return { eio: null, said: "; strace is not installed: the workload's failing opens were not counted" };
  const eio = (await failedOpens(strace)).EIO ?? 0;
  return { eio, said: `; the workload saw ${eio} opens fail with EIO` };
}

/** The exit status when a recording's command failed or was interrupted (the mount is down; no trace is written). */
function captureFailed(capture: { interrupted: boolean; exitCode: number }, command: string[]): number | null {
  if (capture.interrupted) {
    process.stderr.write("fbreplay: interrupted: the mount is down, no trace written\n");
    return 130;
  }
  if (capture.exitCode !== 0) {
    process.stderr.write(`fbreplay: ${command[0]} exited with status ${capture.exitCode}: the mount is down, no trace written\n`);
    return 1;
  }
  return null;
}

async function recordNativeCommand(
  values: { src?: string; keep?: string; output?: string; model?: string; "restart-every"?: string; "restart-at"?: string; "close-ids"?: boolean },
  command: string[],
): Promise<number> {
  const model = values.model ?? "per-inode";
  if (model !== "per-inode" && model !== "per-open") throw new UsageError(`unknown --model '${model}' (one of: per-inode, per-open)`);
  const restartAt = values["restart-at"]?.split(",").map((v) => count(v, "restart-at")!);
  const capture = await recordNative({
    src: values.src, command, workDir: values.keep, model, restartEvery: count(values["restart-every"], "restart-every"),
    restartAt, restartCloseIds: values["close-ids"],
  });
  try {
    const failed = captureFailed(capture, command);
    if (failed !== null) return failed;
    if (!capture.status.passthrough) process.stderr.write(`fbreplay: no passthrough on this mount (${capture.status.reason}): the trace has no backing ids\n`);
    const restarts = [values["restart-every"] ? `--restart-every ${values["restart-every"]}` : "", values["restart-at"] ? `--restart-at ${values["restart-at"]}` : "", values["close-ids"] ? "--close-ids" : ""].filter(Boolean).join(" ");
    const summary = await writeNativeCapture(recordsOf(capture.records), values.output!, {
      source: { format: "fbreplay-native", daemon_model: model, passthrough: capture.status.passthrough, restarts, kernel_proto: capture.status.proto },
      workload: command.join(" "), host_kernel: release(),
      recorder: { name: "fbreplay record (native daemon)", version: version() },
    });
    // The trace's verdicts come from the daemon's side (a RELEASE without a FLUSH); the workload's failing opens are the
    // other witness. They differ only if something else failed opens with EIO, or the inference is wrong: said, not hidden.
    const { eio, said } = await workloadEio(capture.workloadStrace);
    process.stderr.write(
      `wrote ${values.output}: ${summary.footer.events} events (${summary.opens} opens, ${summary.refused} refused by the kernel, ` +
      `${summary.releases} releases, ${summary.backing_opens} backing opens, ${summary.restarts} restarts), ${summary.backing_files} backing files${said}\n`,
    );
    if (eio !== null && eio !== summary.refused) {
      process.stderr.write(`fbreplay: warning: the kernel refused ${summary.refused} opens by the daemon's account, but the workload's strace shows ${eio} opens failing with EIO\n`);
    }
    return 0;
  } finally {
    if (values.keep === undefined) rmSync(capture.workDir, { recursive: true, force: true });
  }
}

async function oracleCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: "boolean", default: false } }, strict: true });
  if (positionals.length !== 1) throw new UsageError("oracle needs one trace: fbreplay oracle TRACE");
  const trace = await openTrace(positionals[0]);
  if (trace.header.source.format !== "fbreplay-native") {
    throw new UsageError(`${trace.path}: not a native capture (source ${trace.header.source.format}): only \`record --daemon native\` traces carry the kernel's verdicts`);
  }
  const report = await runOracle(trace);
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatOracle(report)}\n`);
  return report.runs.every((r) => r.mismatches.length === 0 && r.anomalies === 0) ? 0 : 1;
}

function percentOrFraction(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = v.endsWith("%") ? Number(v.slice(0, -1)) / 100 : Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0 || n >= 1) throw new UsageError(`--${name} ${v}: expected a fraction in [0, 1) or a percentage`);
  return n;
}

function readResultsFile(path: string): BenchResults {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ResultsError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseResults(path, text);
}

function compareCommand(args: string[]): number {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: { threshold: { type: "string" }, alpha: { type: "string" }, json: { type: "boolean", default: false } },
  });
  if (positionals.length !== 2) throw new UsageError("compare needs two results files: fbreplay compare BASE.json HEAD.json");
  const options = { threshold: percentOrFraction(values.threshold, "threshold", DEFAULT_THRESHOLD), alpha: percentOrFraction(values.alpha, "alpha", DEFAULT_ALPHA) };
  const [basePath, headPath] = positionals;
  const c = compareResults(basePath, readResultsFile(basePath), headPath, readResultsFile(headPath), options);
  process.stdout.write(values.json ? `${JSON.stringify(c, null, 2)}\n` : `${formatComparison(c)}\n`);
  return c.regressions > 0 || c.behaviour_changes.length > 0 ? 1 : 0;
}

function historyCommand(args: string[]): number {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: { quick: { type: "boolean", default: false }, threshold: { type: "string" }, alpha: { type: "string" }, json: { type: "boolean", default: false } },
  });
  const path = positionals[0] ?? new URL("../../bench/history.jsonl", import.meta.url).pathname;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ResultsError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); \`npm run bench\` writes it`);
  }
  const ts = trends(parseHistory(path, text), percentOrFraction(values.threshold, "threshold", DEFAULT_THRESHOLD), percentOrFraction(values.alpha, "alpha", DEFAULT_ALPHA), values.quick);
  process.stdout.write(values.json ? `${JSON.stringify(ts, null, 2)}\n` : `${formatTrends(ts, values.quick)}\n`);
  return 0;
}

function exportCommand(args: string[]): number {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true, options: { format: { type: "string" }, output: { type: "string", short: "o" } },
  });
  if (positionals.length !== 1) throw new UsageError("export needs one results file: fbreplay export RESULTS.json --format bmf|github|csv");
  const format = values.format as ExportFormat;
  if (!EXPORT_FORMATS.includes(format)) throw new UsageError(`--format ${values.format ?? "(missing)"}: one of ${EXPORT_FORMATS.join(", ")}`);
  const text = exportResults(readResultsFile(positionals[0]), format);
  if (values.output !== undefined) writeFileSync(values.output, text);
  else process.stdout.write(text);
  return 0;
}

function reportCommand(args: string[]): number {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true, options: { history: { type: "string" }, output: { type: "string", short: "o" } },
  });
  if (positionals.length === 0) throw new UsageError("report needs results files: fbreplay report RESULTS.json… [--history FILE] -o report.html");
  const defaultHistory = new URL("../../bench/history.jsonl", import.meta.url).pathname;
  const history = values.history ?? (existsSync(defaultHistory) ? defaultHistory : undefined);
  const output = values.output ?? "report.html";
  writeFileSync(output, renderReport(readReportInput(positionals, history)));
  process.stderr.write(`wrote ${output}\n`);
  return 0;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "scenarios": return scenariosCommand(rest);
      case "replay": return await replayCommand(rest);
      case "inspect": return await inspectCommand(rest);
      case "synth": return await synthCommand(rest);
      case "ingest": return await ingestCommand(rest);
      case "record": return await recordCommand(rest);
      case "oracle": return await oracleCommand(rest);
      case "vm": return await vmCommand(rest);
      case "kernel-check": return await kernelCheckCommand(rest);
      case "compare": return compareCommand(rest);
      case "history": return historyCommand(rest);
      case "export": return exportCommand(rest);
      case "report": return reportCommand(rest);
      case undefined: case "help": case "--help": case "-h":
        process.stdout.write(`${HELP}\n`);
        return 0;
      case "--version": case "version":
        process.stdout.write(`fbreplay ${version()}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command '${command}'; see 'fbreplay --help'`);
    }
  } catch (err) {
    const e = err as Error & { code?: string; path?: string; syscall?: string };
    if (e.path !== undefined && e.syscall !== undefined) { // a file that cannot be opened or read is bad input
      process.stderr.write(`fbreplay: ${e.path}: ${e.message.replace(/^\w+: /, "").replace(/, \w+ '.*'$/, "")}\n`);
      return 2;
    }
    if (err instanceof UsageError || err instanceof CliUsageError || err instanceof TraceError || err instanceof IngestError || err instanceof RecordError || err instanceof ResultsError || e.code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`fbreplay: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`fbreplay: ${e.message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
