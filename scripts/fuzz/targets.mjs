// The fuzz targets: each makes a seeded input (in files under a scratch directory), runs one stage or the CLI on
// it in this process, and returns what happened as { ok } or { error }. The harness (worker.mjs) classifies it.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32, gzipSync, gunzipSync } from "node:zlib";
import { Packr } from "msgpackr";
import { OP_BACKING_CLOSE, OP_BACKING_OPEN, OP_FORGET, OP_LOOKUP, OP_OPEN, OP_RELEASE, OP_RESTART, FOPEN_PASSTHROUGH } from "../../dist/abi.js";
import { inspectTrace } from "../../dist/inspect/index.js";
import { ingestLibfuseDebug, ingestStrace } from "../../dist/ingest/index.js";
import { writeNativeCapture } from "../../dist/ingest/native.js";
import { runOracle } from "../../dist/oracle/index.js";
import { recordsOf } from "../../dist/record/native.js";
import { POLICIES, ReferenceSession, WasmReplaySession, eventColumns, replayTrace } from "../../dist/replay/index.js";
import { synth } from "../../dist/synth/index.js";
import { encodeChunk, encodeTrailer, chunkCrc32, recordedCrc32 } from "../../dist/trace/format.js";
import { openTrace } from "../../dist/trace/index.js";
import { INTERESTING_TEXT, interestingU32, mutateBytes, mutateLines } from "./mutate.mjs";

const ROOT = new URL("../../", import.meta.url).pathname;
const FIXTURES = join(ROOT, "test/fixtures");
/** The memory budget every fuzzed replay runs under: a run that needs more must be refused, not attempted. */
export const FUZZ_MAX_MEMORY = 256 << 20;

const packr = new Packr({ useRecords: false, variableMapSize: true });

// ---- traces: a model (header, items, footer) serialized with correct CRCs after semantic mutations ----

const HEADER = {
  format: "fbreplay-trace", version: 1, source: { format: "synth" }, workload: "fuzz", recorder: { name: "fuzz", version: "1" },
  host_kernel: "", created: "2026-01-01T00:00:00.000Z",
};

/** A small valid trace as a model: synth's stream, optionally with recorded columns as a native capture has. */
function baseTrace(rng, large = rng.chance(0.03)) {
  const events = 1 + rng.int(large ? 5000 : 300);
  const items = [];
  for (const it of synth({ events, seed: rng.int(1e6), inodes: 1 + rng.int(large ? 3000 : 40), maxOpenFiles: 1 + rng.int(large ? 1500 : 16), chunkRows: 1 + rng.int(200), forgetRate: rng.next() * 0.1 })) {
    if (it.backing) items.push({ kind: "backing", files: it.backing });
    if (it.chunk) items.push({ kind: "chunk", chunk: it.chunk });
  }
  const native = rng.chance(0.3);
  if (native) {
    for (const it of items) {
      if (it.kind !== "chunk") continue;
      const c = it.chunk;
      c.bid = new Uint32Array(c.length);
      c.verdict = new Uint8Array(c.length);
      for (let i = 0; i < c.length; i++) {
        if (c.op[i] === OP_OPEN) { c.bid[i] = 1 + rng.int(8); c.verdict[i] = 1 + rng.int(2); }
        if (rng.chance(0.02)) { c.op[i] = rng.chance(0.5) ? OP_BACKING_OPEN : OP_BACKING_CLOSE; c.bid[i] = 1 + rng.int(8); }
      }
    }
  }
  const header = native
    ? { ...HEADER, source: { format: "fbreplay-native", daemon_model: rng.pick(["per-inode", "per-open"]) } }
    : { ...HEADER };
  return { header, items };
}

function footerOf(items) {
  let events = 0, chunks = 0, backing = 0, maxNodeid = -1, maxFh = -1, first = -1, last = 0;
  const crcs = [];
  for (const it of items) {
    if (it.kind === "backing") { backing += it.files.length; continue; }
    const c = it.chunk;
    events += c.length;
    chunks++;
    for (let i = 0; i < c.length; i++) {
      if (c.nodeid[i] > maxNodeid) maxNodeid = c.nodeid[i];
      if (c.fh[i] > maxFh) maxFh = c.fh[i];
    }
    let t = c.t0;
    for (let i = 1; i < c.length; i++) t += c.dt[i];
    if (first < 0) first = c.t0;
    last = t;
    crcs.push(chunkCrc32(c));
  }
  return { kind: "footer", events, chunks, backing_files: backing, max_nodeid: maxNodeid, max_fh: maxFh, duration_us: first < 0 ? 0 : last - first, chunk_crc32: crcs };
}

const COLUMN_NAMES = ["op", "nodeid", "fh", "bref", "oflags", "fopen", "pid", "dt"];

/** Changes values inside the model (the serializer then writes valid CRCs): what the CRC cannot catch. */
function mutateSemantics(rng, model) {
  const chunks = model.items.filter((it) => it.kind === "chunk");
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds && chunks.length > 0; r++) {
    const c = rng.pick(chunks).chunk;
    const row = rng.int(c.length);
    switch (rng.int(10)) {
      case 0: c.nodeid[row] = interestingU32(rng); break;
      case 1: c.fh[row] = interestingU32(rng); break;
      case 2: c.op[row] = rng.chance(0.5) ? rng.int(256) : rng.pick([OP_OPEN, OP_RELEASE, OP_FORGET, OP_LOOKUP, OP_RESTART, OP_BACKING_OPEN, OP_BACKING_CLOSE]); break;
      case 3: c.bref[row] = rng.chance(0.5) ? interestingU32(rng) : rng.int(1000); break;
      case 4: c.dt[row] = interestingU32(rng); break;
      case 5: c.t0 = rng.chance(0.5) ? rng.int(2 ** 20) : rng.pick([0, 2 ** 53 - 1, 2 ** 40]); break;
      case 6: if (c.bid) c.bid[row] = interestingU32(rng); else c.oflags[row] = interestingU32(rng); break;
      case 7: if (c.verdict) c.verdict[row] = rng.int(256); else c.fopen[row] = interestingU32(rng); break;
      case 8: { // all of one column's rows: sparse ids, as a 64-bit daemon's inode pointers cut to 32 bits
        const col = rng.pick(["nodeid", "fh"]);
        for (const it of chunks) for (let i = 0; i < it.chunk.length; i++) it.chunk[col][i] = Math.imul(it.chunk[col][i] + 1, 0x9e3779b1) >>> 0;
        break;
      }
      default: { // an item dropped, duplicated or moved
        const at = rng.int(model.items.length);
        const it = model.items[at];
        const k = rng.int(3);
        if (k === 0) model.items.splice(at, 1);
        else if (k === 1) model.items.splice(at, 0, it);
        else model.items.splice(rng.int(model.items.length), 0, model.items.splice(at, 1)[0]);
      }
    }
  }
}

/** Footer values changed after they were computed (its CRC is written for the changed bytes). */
function mutateFooter(rng, footer) {
  const key = rng.pick(["max_nodeid", "max_fh", "events", "chunks", "backing_files", "duration_us", "chunk_crc32", "max_nodeid", "max_fh"]);
  if (key === "chunk_crc32") {
    if (footer.chunk_crc32.length > 0) footer.chunk_crc32[rng.int(footer.chunk_crc32.length)] = interestingU32(rng);
    else footer.chunk_crc32.push(0);
  } else if (rng.chance(0.5)) {
    footer[key] = interestingU32(rng);
  } else {
    footer[key] = Math.max(key.startsWith("max_") ? -1 : 0, footer[key] + rng.pick([-1, 1, 2, -2, 1000]));
  }
}

function serializeTrace(model, footerOverride) {
  const parts = [packr.pack(model.header)];
  let backing = 0;
  let index = 0;
  for (const it of model.items) {
    if (it.kind === "backing") {
      parts.push(packr.pack({ kind: "backing", first: backing, files: it.files }));
      backing += it.files.length;
    } else {
      parts.push(...encodeChunk(index++, it.chunk, chunkCrc32(it.chunk)));
    }
  }
  const footer = footerOverride ?? footerOf(model.items);
  const footerBytes = packr.pack(footer);
  const body = Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
  return Buffer.concat([body, footerBytes, encodeTrailer({ footerOffset: body.length, footerLength: footerBytes.length, footerCrc32: crc32(footerBytes) })]);
}

/** A valid small trace, and one whose values are wrong under valid CRCs. */
export function validTraceBytes(rng) {
  return serializeTrace(baseTrace(rng));
}
export function brokenTraceBytes(rng) {
  const model = baseTrace(rng);
  const c = model.items.find((it) => it.kind === "chunk").chunk;
  c.nodeid[0] = 0xffffffff;
  const footer = footerOf(model.items);
  footer.max_nodeid = 3;
  return serializeTrace(model, footer);
}

/** Copies of a model's chunks with nodeids and fhs renamed one to one (sparse 32-bit values): the same workload. */
function renamedTwin(rng, model) {
  const salt = (rng.next() * 0x100000000) >>> 0 | 1;
  const rename = (v) => (Math.imul(v + 1, 0x9e3779b1) ^ salt) >>> 0; // odd multiplier, then xor: one to one on u32
  const items = model.items.map((it) => {
    if (it.kind !== "chunk") return it;
    const c = it.chunk;
    return { kind: "chunk", chunk: { ...c, nodeid: c.nodeid.map(rename), fh: c.fh.map(rename) } };
  });
  return { header: model.header, items };
}

/** A trace file: valid (sometimes), semantically mutated with valid CRCs (mostly), or with damaged bytes. */
export function makeTrace(rng) {
  const kind = rng.int(10);
  const model = baseTrace(rng, kind === 0 ? rng.chance(0.5) : undefined);
  if (kind === 0) {
    // half the valid ones come with a twin whose ids are renamed: both must replay and inspect alike
    return rng.chance(0.5) ? { bytes: serializeTrace(model), kind: "twin", twin: serializeTrace(renamedTwin(rng, model)) } : { bytes: serializeTrace(model), kind: "valid" };
  }
  if (kind <= 5) {
    mutateSemantics(rng, model);
    return { bytes: serializeTrace(model), kind: "semantic" };
  }
  if (kind <= 7) {
    const footer = footerOf(model.items);
    mutateFooter(rng, footer);
    if (rng.chance(0.3)) mutateSemantics(rng, model);
    return { bytes: serializeTrace(model, footer), kind: "footer" };
  }
  return { bytes: mutateBytes(rng, serializeTrace(model)), kind: "bytes" };
}

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

const LIBFUSE_LOGS = ["bindfs-2.9.9.log", "bindfs-failed-opens.log", "bindfs-unlink-open.log", "dev-prefixed.log", "interleaved.log", "libfuse3-lowlevel.log", "malformed.log", "passthrough_hp-3.17.2.log", "sh-workload.daemon.log", "bindfs-straced.log"];
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
      if (twin === undefined) return { path, kind, inputs: [path] };
      const twinPath = join(dir, "twin.fbt");
      writeFileSync(twinPath, twin);
      return { path, twinPath, kind, inputs: [path, twinPath] };
    },
    run: (rng, input) => (input.twinPath ? twins(rng, input.path, input.twinPath) : replayOnce(rng, input.path)),
    cleanErrors: ["TraceError"],
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
      return { log, daemonStrace, strict: rng.chance(0.3), output: join(dir, "out.fbt"), inputs: [log, daemonStrace].filter(Boolean) };
    },
    run: async (rng, i) => {
      await ingestLibfuseDebug({ log: i.log, daemonStrace: i.daemonStrace, strict: i.strict, output: i.output, chunkRows: 1 + rng.int(300) });
      await checkTraceReadable(i.output);
    },
    cleanErrors: ["IngestError"],
  },
  strace: {
    input(rng, dir) {
      const [base, mount] = rng.pick(STRACE_LOGS);
      const log = writeLog(rng, dir, "workload.strace", mutateLines(rng, fixture(base)));
      return { log, mount: rng.chance(0.95) ? mount : rng.pick(["/", "", "/m/", "relative"]), strict: rng.chance(0.3), output: join(dir, "out.fbt"), inputs: [log] };
    },
    run: async (rng, i) => {
      await ingestStrace({ log: i.log, mount: i.mount, strict: i.strict, output: i.output, chunkRows: 1 + rng.int(300) });
      await checkTraceReadable(i.output);
    },
    cleanErrors: ["IngestError"],
  },
  native: {
    input(rng, dir) {
      const path = join(dir, "records.jsonl");
      writeFileSync(path, nativeRecords(rng));
      return { path, output: join(dir, "out.fbt"), inputs: [path] };
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
    return { rows: eventSequence(rng), daemon: rng.pick(["per-inode", "per-open", "recorded"]), idMax: rng.pick([0x7fffffff, 0x7fffffff, 2]), inputs: [] };
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
};

export class Mismatch extends Error {}

export { INTERESTING_TEXT, existsSync, mkdirSync, readdirSync, rmSync, statSync };
