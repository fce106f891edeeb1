// The fuzz targets: each makes a seeded input (in files under a scratch directory), runs one stage or the CLI on
// it in this process, and returns what happened as { ok } or { error }. The harness (worker.mjs) classifies it.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, gunzipSync } from "node:zlib";
import { OP_BACKING_CLOSE, OP_BACKING_OPEN, OP_FORGET, OP_LOOKUP, OP_OPEN, OP_RELEASE, OP_RESTART, FOPEN_PASSTHROUGH } from "../../dist/abi.js";
import { inspectTrace } from "../../dist/inspect/index.js";
import { ingestLibfuseDebug, ingestStrace } from "../../dist/ingest/index.js";
import { writeNativeCapture } from "../../dist/ingest/native.js";
import { runOracle } from "../../dist/oracle/index.js";
import { recordsOf } from "../../dist/record/native.js";
import { POLICIES, ReferenceSession, WasmReplaySession, eventColumns, replayTrace } from "../../dist/replay/index.js";
import { openTrace } from "../../dist/trace/index.js";
import { INTERESTING_TEXT, interestingU32, mutateBytes, mutateLines } from "./mutate.mjs";
import { TRACE_KINDS, makeTrace } from "./traces.mjs";

export { brokenTraceBytes, makeTrace, validTraceBytes } from "./traces.mjs";

const ROOT = new URL("../../", import.meta.url).pathname;
const FIXTURES = join(ROOT, "test/fixtures");
/** The memory budget every fuzzed replay runs under: a run that needs more must be refused, not attempted. */
export const FUZZ_MAX_MEMORY = 256 << 20;

/** What a replay or inspect reports, without what depends on the path or the clock. */
function comparable(report) {
  const { path: _p, resources: _r, ...rest } = report;
  if (rest.policies) rest.policies = Object.fromEntries(Object.entries(rest.policies).map(([k, v]) => [k, { ...v, ns_per_event: 0 }]));
  if (rest.trace) rest.trace = { ...rest.trace, path: "" };
  return JSON.stringify(rest);
}

/** The trace and its renamed twin must give the same counts: renumbering a sparse id space changes nothing. */
async function twins(rng, a, b) {
  const plan = {
    engine: rng.chance(0.3) ? "js" : "wasm", policies: POLICIES, daemon: rng.pick(["per-inode", "per-open"]), maxMemory: FUZZ_MAX_MEMORY,
    scale: 1 + rng.int(3), restartEvery: rng.chance(0.5) ? 1 + rng.int(50) : undefined, redownloadRate: rng.next() * 0.3, seed: rng.int(1000),
  };
  const [ra, rb] = [await replayTrace(await openTrace(a), plan), await replayTrace(await openTrace(b), plan)];
  if (comparable(ra) !== comparable(rb)) throw new Mismatch(`a trace and its renamed twin replay differently: ${comparable(ra)} vs ${comparable(rb)}`);
  const [ia, ib] = [await inspectTrace(await openTrace(a)), await inspectTrace(await openTrace(b))];
  if (comparable(ia) !== comparable(ib)) throw new Mismatch(`a trace and its renamed twin inspect differently: ${comparable(ia)} vs ${comparable(ib)}`);
}

async function replayOnce(rng, path) {
  const reader = await openTrace(path, { reuseBuffers: rng.chance(0.5), blockBytes: rng.chance(0.2) ? 64 + rng.int(4096) : undefined });
  if (rng.chance(0.4)) await inspectTrace(reader);
  const native = reader.header.source.format === "fbreplay-native";
  if (native && rng.chance(0.3)) await runOracle(reader);
  const recorded = native && rng.chance(0.5);
  const policies = rng.chance(0.5) ? POLICIES : [rng.pick(POLICIES)];
  const plan = recorded
    ? { engine: rng.chance(0.1) ? "js" : "wasm", policies, daemon: "recorded", maxMemory: FUZZ_MAX_MEMORY }
    : {
      engine: rng.chance(0.1) ? "js" : "wasm", policies, daemon: rng.pick(["per-inode", "per-open"]), maxMemory: FUZZ_MAX_MEMORY,
      scale: rng.chance(0.3) ? 1 + rng.int(4) : 1, restartEvery: rng.chance(0.3) ? 1 + rng.int(50) : undefined,
      redownloadRate: rng.chance(0.3) ? rng.next() * 0.5 : undefined, replaceRate: rng.chance(0.3) ? rng.next() * 0.5 : undefined,
      closeAll: rng.chance(0.3), seed: rng.int(1000),
    };
  await replayTrace(reader, plan);
}

// ---- the targets ----

/** Reads a fixture once per process. */
const fixtureCache = new Map();
function fixture(name) {
  let text = fixtureCache.get(name);
  if (text === undefined) {
    const raw = readFileSync(join(FIXTURES, name));
    text = (name.endsWith(".gz") ? gunzipSync(raw) : raw).toString("latin1");
    fixtureCache.set(name, text);
  }
  return text;
}

function writeLog(rng, dir, name, text) {
  const gz = rng.chance(0.1);
  const path = join(dir, gz ? `${name}.gz` : name);
  let bytes = Buffer.from(text, "latin1");
  if (gz) {
    bytes = gzipSync(bytes);
    if (rng.chance(0.3)) bytes = mutateBytes(rng, bytes); // a corrupt or truncated gzip stream
  }
  writeFileSync(path, bytes);
  return path;
}

const LIBFUSE_LOGS = ["bindfs-2.9.9.log", "bindfs-failed-opens.log", "bindfs-unlink-open.log", "dev-prefixed.log", "interleaved.log", "libfuse3-lowlevel.log", "malformed.log", "passthrough_hp-3.17.2.log", "sh-workload.daemon.log", "bindfs-straced.log", "per-open-threads-garbled.log.gz", "per-open-ids-by-order.log.gz"];
const STRACE_LOGS = [["fds.strace", "/m"], ["sh-workload.strace", "/rec/mnt"]];

/**
 * Each target: `input(rng, dir)` writes its input under dir and returns what `run` needs (with `inputs`: the paths a
 * clean error may name, and `output`: the file a failed run must not leave); `run` resolves or throws.
 */
export const TARGETS = {
  trace: {
    input(rng, dir) {
      const { bytes, kind, twin } = makeTrace(rng);
      const path = join(dir, "in.fbt");
      writeFileSync(path, bytes);
      if (twin === undefined) return { path, kind, shape: kind, inputs: [path] };
      const twinPath = join(dir, "twin.fbt");
      writeFileSync(twinPath, twin);
      return { path, twinPath, kind, shape: kind, inputs: [path, twinPath] };
    },
    run: (rng, input) => (input.twinPath ? twins(rng, input.path, input.twinPath) : replayOnce(rng, input.path)),
    cleanErrors: ["TraceError"],
    shapes: TRACE_KINDS,
  },
  libfuse: {
    input(rng, dir) {
      const base = rng.pick(LIBFUSE_LOGS);
      const log = writeLog(rng, dir, "daemon.log", rng.chance(0.9) ? mutateLines(rng, fixture(base)) : fixture(base));
      let daemonStrace;
      if (base.startsWith("passthrough_hp") || base === "bindfs-straced.log") {
        const straceName = base.startsWith("passthrough_hp") ? "passthrough_hp-3.17.2.strace.gz" : "bindfs-straced.strace.gz";
        if (rng.chance(0.6)) daemonStrace = writeLog(rng, dir, "daemon.strace", rng.chance(0.7) ? mutateLines(rng, fixture(straceName)) : fixture(straceName));
      }
      return { log, daemonStrace, strict: rng.chance(0.3), output: join(dir, "out.fbt"), inputs: [log, daemonStrace].filter(Boolean), shape: base };
    },
    run: async (rng, i) => {
      await ingestLibfuseDebug({ log: i.log, daemonStrace: i.daemonStrace, strict: i.strict, output: i.output, chunkRows: 1 + rng.int(300) });
      await checkTraceReadable(i.output);
    },
    cleanErrors: ["IngestError"],
    shapes: LIBFUSE_LOGS,
  },
  strace: {
    input(rng, dir) {
      const [base, mount] = rng.pick(STRACE_LOGS);
      const log = writeLog(rng, dir, "workload.strace", mutateLines(rng, fixture(base)));
      return { log, mount: rng.chance(0.95) ? mount : rng.pick(["/", "", "/m/", "relative"]), strict: rng.chance(0.3), output: join(dir, "out.fbt"), inputs: [log], shape: base };
    },
    run: async (rng, i) => {
      await ingestStrace({ log: i.log, mount: i.mount, strict: i.strict, output: i.output, chunkRows: 1 + rng.int(300) });
      await checkTraceReadable(i.output);
    },
    cleanErrors: ["IngestError"],
    shapes: STRACE_LOGS.map(([name]) => name),
  },
  native: {
    input(rng, dir) {
      const path = join(dir, "records.jsonl");
      writeFileSync(path, nativeRecords(rng));
      return { path, output: join(dir, "out.fbt"), inputs: [path], shape: "records" };
    },
    run: async (rng, i) => {
      await writeNativeCapture(recordsOf(i.path), i.output, {
        source: { format: "fbreplay-native", daemon_model: "per-inode", passthrough: true }, workload: "fuzz", host_kernel: "",
        recorder: { name: "fuzz", version: "1" },
      }, 1 + rng.int(64));
      const reader = await openTrace(i.output);
      await runOracle(reader);
      // A capture with no events has no recorded ids, which replay --daemon recorded refuses (a test says so)
      if (reader.footer.events > 0) await replayTrace(reader, { engine: "wasm", policies: POLICIES, daemon: "recorded", maxMemory: FUZZ_MAX_MEMORY });
    },
    cleanErrors: ["RecordError", "IngestError"],
    shapes: ["records"],
  },
};

async function checkTraceReadable(path) {
  const reader = await openTrace(path);
  for await (const _ of reader.items());
}

// ---- native daemon records: a plausible sequence, then damaged ----

const RECORD_OPS = ["lookup", "forget", "open", "create", "release", "unlink", "rename", "restart", "backing_open", "backing_close"];

function nativeRecords(rng) {
  const records = [];
  const n = 1 + rng.int(60);
  let seq = 0;
  let t = 0;
  const hex = () => Array.from({ length: 64 }, () => "0123456789abcdef"[rng.int(16)]).join("");
  const digests = [hex(), hex(), hex()];
  for (let i = 0; i < n; i++) {
    const op = rng.pick(["open", "open", "release", "release", "backing_open", "lookup", "forget", "restart", "backing_close", "create"]);
    const nodeid = 1 + rng.int(6);
    t += rng.int(1000000);
    records.push({
      seq: seq++, op, unique: i + 1, nodeid, fh: 1 + rng.int(6), pid: 100, flags: rng.pick([0, 1, 2, 0o40]), fopen: rng.pick([0, FOPEN_PASSTHROUGH]),
      backing_id: rng.int(4), dev: 1, ino: 10 + nodeid, sha256: op === "open" || op === "create" ? rng.pick(digests) : "", name: "", path: `f${nodeid}`,
      error: rng.chance(0.1) ? -5 : 0, t_ns: t, epoch: 0, ...(op === "release" ? { flushed: rng.chance(0.8) } : {}),
    });
  }
  // Damage: fields of the wrong type or range, unknown ops, missing fields, huge numbers, long gaps in time.
  const rounds = rng.int(4);
  for (let r = 0; r < rounds && records.length > 0; r++) {
    const rec = rng.pick(records);
    const keys = Object.keys(rec);
    const key = rng.pick(keys);
    switch (rng.int(6)) {
      case 0: delete rec[key]; break;
      case 1: rec[key] = rng.pick([null, "x", -1, 1.5, 2 ** 53, 2 ** 32, [], {}, true]); break;
      case 2: rec.op = rng.pick([...RECORD_OPS, "bogus", ""]); break;
      case 3: rec[key] = interestingU32(rng); break;
      case 4: rec.t_ns = rng.pick([0, 2 ** 52, 5e12 * (1 + rng.int(4))]); break;
      default: rec.sha256 = rng.pick(["", "zz", hex().slice(1), hex()]);
    }
  }
  let text = records.map((r) => JSON.stringify(r)).join("\n") + "\n";
  if (rng.chance(0.2)) text = mutateLines(rng, text);
  return text;
}

// ---- the differential target: wasm core against the TypeScript model ----

const WORLD_BACKING = [
  { dev: 1, ino: 10, digest: new Uint8Array(32).fill(1) },
  { dev: 1, ino: 11, digest: new Uint8Array(32).fill(2) },
  { dev: 1, ino: 10, digest: new Uint8Array(32).fill(3) },
  { dev: 1, ino: 12, digest: new Uint8Array(32).fill(1) },
  { dev: 2, ino: 10, digest: new Uint8Array(32).fill(4) },
];
const WORLD_INODES = 4;
const WORLD_FILES = 6;

/** A random event sequence over a small world (ids a little beyond its tables too: anomalies must agree as well). */
function eventSequence(rng) {
  const n = 1 + rng.int(80);
  const rows = [];
  for (let i = 0; i < n; i++) {
    const op = rng.pick([OP_OPEN, OP_OPEN, OP_OPEN, OP_RELEASE, OP_RELEASE, OP_FORGET, OP_LOOKUP, OP_RESTART, OP_BACKING_OPEN, OP_BACKING_CLOSE, rng.int(10)]);
    rows.push({
      op, nodeid: rng.int(WORLD_INODES + 1), fh: rng.int(WORLD_FILES + 1), bref: rng.int(WORLD_BACKING.length + 1),
      oflags: rng.pick([0, 1, 2]), fopen: rng.pick([0, FOPEN_PASSTHROUGH, FOPEN_PASSTHROUGH, 0x100, 0x1, FOPEN_PASSTHROUGH | 0x1, 0x180]),
    });
  }
  return rows;
}

TARGETS.differential = {
  input(rng) {
    const rows = eventSequence(rng);
    const daemon = rng.pick(["per-inode", "per-open", "recorded"]);
    return { rows, daemon, idMax: rng.pick([0x7fffffff, 0x7fffffff, 2]), inputs: [], shape: daemon };
  },
  run: (rng, i) => {
    const options = { policies: POLICIES, maxInodes: WORLD_INODES, maxFiles: WORLD_FILES, daemon: i.daemon, idMax: i.idMax };
    const js = new ReferenceSession(WORLD_BACKING, options);
    const wasm = new WasmReplaySession(WORLD_BACKING, options, "release", 32);
    const events = eventColumns(i.rows);
    if (i.daemon === "recorded") events.bid = Uint32Array.from(i.rows, () => rng.int(4));
    js.feed(events);
    wasm.feed(events);
    const a = JSON.stringify(js.outcomes());
    const b = JSON.stringify(wasm.outcomes());
    if (a !== b) throw new Mismatch(`wasm and model disagree on ${JSON.stringify(i.rows)}: ${a} vs ${b}`);
  },
  cleanErrors: [],
  shapes: ["per-inode", "per-open", "recorded"],
};

export class Mismatch extends Error {}

export { INTERESTING_TEXT, existsSync, mkdirSync, readdirSync, rmSync, statSync };
