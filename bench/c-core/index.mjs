// The native C build of the replay core (core.c, main.c): building it, writing the dump it replays, running it.
// Used by the benchmark scripts and by test/c-core.test.ts. Needs `npm run build` (it reads dist/).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { endianness } from "node:os";
import { fileURLToPath } from "node:url";
import { ID_MAX_DEFAULT } from "../../dist/abi.js";
import { DAEMON_CODE, POLICY_CODE, outcomesFromCounters } from "../../dist/engine.js";
import { CORE_EVENT_ROWS } from "../../dist/replay/wasm.js";

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const SOURCES = ["core.c", "core.h", "abi.h", "host.h", "main.c", "check.c"].map(here);
const COMPILED = ["core.c", "main.c", "check.c"].map(here);
/** Warnings are always asked for; they do not change the code generated. */
const WARNINGS = ["-Wall", "-Wextra"];
const OUT_DIR = fileURLToPath(new URL("../../build/c-core/", import.meta.url));
const BINARY = `${OUT_DIR}fbreplay-native`;
const STAMP = `${BINARY}.build.json`;

/**
 * Compiles the native replay to build/native/fbreplay-native, unless it is newer than its sources and was built by
 * the same compiler with the same flags. Returns { path, cc, version, flags }, or { skipped: reason } when there is
 * no C compiler. A compiler that fails on the sources throws (with its messages).
 */
export function buildNative({ cc = "cc", flags = ["-O2"] } = {}) {
  const probe = spawnSync(cc, ["--version"], { encoding: "utf8" });
  if (probe.error !== undefined || probe.status !== 0) {
    const why = probe.error?.code === "ENOENT" ? "not found" : (probe.error?.message ?? `exit status ${probe.status}`);
    return { skipped: `no C compiler: \`${cc} --version\` failed (${why})` };
  }
  const version = probe.stdout.split("\n")[0].trim();
  const stamp = JSON.stringify({ cc, version, flags });
  const fresh = existsSync(BINARY) && existsSync(STAMP) && readFileSync(STAMP, "utf8") === stamp
    && SOURCES.every((s) => statSync(s).mtimeMs <= statSync(BINARY).mtimeMs);
  if (!fresh) {
    mkdirSync(OUT_DIR, { recursive: true });
    const tmp = `${BINARY}.${process.pid}.tmp`;
    const r = spawnSync(cc, [...flags, ...WARNINGS, "-o", tmp, ...COMPILED], { encoding: "utf8" });
    if (r.error !== undefined || r.status !== 0) {
      throw new Error(`${cc} ${[...flags, ...WARNINGS].join(" ")} failed on bench/c-core: ${(r.error?.message ?? r.stderr).trim()}`);
    }
    renameSync(tmp, BINARY);
    writeFileSync(STAMP, stamp);
  }
  return { path: BINARY, cc, version, flags };
}

const MAGIC = "FBRNATV1";
const HEADER_BYTES = 48;
const BACKING_RECORD_BYTES = 48;
/** Backing versions per write of a BACK record's body (one record per addBacking call, however long). */
const BACKING_BATCH = 16384;

function recordHead(tag, count) {
  const b = Buffer.alloc(8);
  b.write(tag, 0, "latin1");
  b.writeUInt32LE(count, 4);
  return b;
}

function header({ policies, daemon, maxInodes, maxFiles, idMax, chunkRows, events, backing }) {
  const b = Buffer.alloc(HEADER_BYTES + 4 * policies.length);
  b.write(MAGIC, 0, "latin1");
  b.writeUInt32LE(policies.length, 8);
  b.writeUInt32LE(DAEMON_CODE[daemon], 12);
  b.writeUInt32LE(maxInodes, 16);
  b.writeUInt32LE(maxFiles, 20);
  b.writeUInt32LE(idMax, 24);
  b.writeUInt32LE(chunkRows, 28);
  b.writeBigUInt64LE(BigInt(events), 32);
  b.writeBigUInt64LE(BigInt(backing), 40);
  policies.forEach((p, i) => b.writeUInt32LE(POLICY_CODE[p], HEADER_BYTES + 4 * i));
  return b;
}

/** Writes all of `buf` (at `position`, or where the file is), however many write calls that takes. */
async function writeAll(handle, buf, position = null) {
  for (let done = 0; done < buf.length;) {
    const { bytesWritten } = await handle.write(buf, done, buf.length - done, position === null ? null : position + done);
    done += bytesWritten;
  }
}

const bytesOf = (a, n) => Buffer.from(a.buffer, a.byteOffset, n * a.BYTES_PER_ELEMENT);

/**
 * Writes the dump main.c replays (its format is described at the top of main.c). `backing` is the initial backing
 * table; `columns` is an iterable or async iterable of items, each one of: EventColumns (with its recorded ids,
 * `bid`, when it has them); { chunk: EventColumns }
 * (a synth() item, a trace reader's "chunk" item); { backing: BackingFile[] } (a synth() item) or
 * { kind: "backing", files } (a trace reader's item), which extend the backing table from there on. Items are
 * written as they come, so a stream of any length takes no more memory than one item; each item is written before
 * the next is asked for (reused columns, as the Injector's, are fine). Each events item is cut into records of at
 * most `chunkRows` rows exactly as WasmReplaySession.feed cuts it into replay calls.
 * Resolves to { events, backing }: the rows and backing versions written.
 */
export async function writeNativeDump(file, {
  backing = [], columns = [], policies, daemon = "per-inode", maxInodes, maxFiles, idMax = ID_MAX_DEFAULT,
  chunkRows = CORE_EVENT_ROWS,
}) {
  if (endianness() !== "LE") throw new Error("writeNativeDump: the dump is little-endian, like the columns it copies");
  const bad = (what) => { throw new RangeError(`writeNativeDump: ${what}`); };
  if (!Array.isArray(policies) || policies.length < 1 || policies.length > 5) bad("policies must list 1 to 5 policies");
  for (const p of policies) if (!(p in POLICY_CODE)) bad(`unknown policy ${JSON.stringify(p)}`);
  if (new Set(policies).size !== policies.length) bad("a policy is listed twice");
  if (!(daemon in DAEMON_CODE)) bad(`unknown daemon model ${JSON.stringify(daemon)}`);
  const u32 = (v, min) => Number.isInteger(v) && v >= min && v <= 0xffffffff;
  if (!u32(maxInodes, 1) || !u32(maxFiles, 1)) bad("maxInodes and maxFiles must be integers ≥ 1");
  if (!u32(idMax, 1) || idMax > ID_MAX_DEFAULT) bad(`idMax must be an integer in [1, ${ID_MAX_DEFAULT}]`);
  if (!u32(chunkRows, 1) || chunkRows > 1 << 26) bad(`chunkRows must be an integer in [1, ${1 << 26}]`);

  const out = await open(file, "w");
  const counts = { events: 0, backing: 0 };
  try {
    const write = (buf) => writeAll(out, buf);
    const options = { policies, daemon, maxInodes, maxFiles, idMax, chunkRows };
    await write(header({ ...options, events: 0, backing: 0 }));

    const writeBacking = async (files) => {
      if (files.length === 0) return;
      await write(recordHead("BACK", files.length));
      for (let start = 0; start < files.length; start += BACKING_BATCH) {
        const batch = files.slice(start, start + BACKING_BATCH);
        const b = Buffer.alloc(batch.length * BACKING_RECORD_BYTES);
        batch.forEach((f, i) => {
          const at = i * BACKING_RECORD_BYTES;
          if (!u32(f.dev, 0)) bad(`backing file ${counts.backing + start + i}: st_dev ${f.dev} is not a u32`);
          if (!(f.digest?.length >= 32)) bad(`backing file ${counts.backing + start + i}: a digest of 32 bytes is needed`);
          b.writeUInt32LE(f.dev, at);
          b.writeDoubleLE(f.ino, at + 8);
          b.set(f.digest.subarray(0, 32), at + 16);
        });
        await write(b);
      }
      counts.backing += files.length;
    };

    const writeEvents = async (ev) => {
      for (let start = 0; start < ev.length; start += chunkRows) {
        const n = Math.min(chunkRows, ev.length - start);
        const end = start + n;
        const pad = (4 - (n % 4)) % 4;
        await write(recordHead(ev.bid === undefined ? "EVNT" : "EVNB", n));
        await write(bytesOf(ev.op.subarray(start, end), n));
        if (pad > 0) await write(Buffer.alloc(pad));
        const cols = [ev.nodeid, ev.fh, ev.bref, ev.oflags, ev.fopen, ...(ev.bid === undefined ? [] : [ev.bid])];
        for (const col of cols) await write(bytesOf(col.subarray(start, end), n));
        counts.events += n;
      }
    };

    await writeBacking(backing);
    for await (const item of columns) {
      if (item.kind === "backing") await writeBacking(item.files);
      else if (item.backing !== undefined) await writeBacking(item.backing);
      else if (item.chunk !== undefined) await writeEvents(item.chunk);
      else if (item.op !== undefined) await writeEvents(item);
      else bad("an item of `columns` is neither event columns nor a backing extension");
    }
    await write(recordHead("END!", 0));
    await writeAll(out, header({ ...options, ...counts }), 0);
  } finally {
    await out.close();
  }
  return counts;
}

/** Runs the binary with `args`; resolves to its stdout parsed as JSON, rejects with its one-line message. */
function runJson(binaryPath, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(binaryPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    const stdout = [];
    const stderr = [];
    child.stdout.on("data", (d) => stdout.push(d));
    child.stderr.on("data", (d) => stderr.push(d));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const err = Buffer.concat(stderr).toString("utf8").trim();
      if (code !== 0) {
        const e = new Error(err || `${binaryPath} ${signal ? `killed by ${signal}` : `exited with status ${code}`}`);
        e.status = code;
        reject(e);
        return;
      }
      try {
        resolve(JSON.parse(Buffer.concat(stdout).toString("utf8")));
      } catch (e) {
        reject(new Error(`${binaryPath}: unreadable output (${e.message})`));
      }
    });
  });
}

/**
 * Runs the native replay on a dump. Resolves to { events, memoryBytes, outcomes, policies }: `outcomes` by policy
 * as WasmReplaySession.outcomes() gives them; `policies[p]` those outcomes plus `ns` (time in the core's replay
 * calls, as elapsedNs() gives it) and `violations` (the core's invariant check after the replay). Rejects with the
 * program's one-line message (and `status`, its exit status) when it fails.
 */
export async function runNative(binaryPath, dumpFile, { only } = {}) {
  const raw = await runJson(binaryPath, only === undefined ? [dumpFile] : [dumpFile, "--only", only]);
  const outcomes = {};
  const policies = {};
  for (const [p, r] of Object.entries(raw.policies)) {
    outcomes[p] = outcomesFromCounters(r.counters);
    policies[p] = { ...outcomes[p], ns: r.ns, violations: r.violations };
  }
  return { events: raw.events, memoryBytes: raw.memory_bytes, outcomes, policies };
}

/**
 * The cost-per-check benchmark (bench/suites/check.mjs) on the C core: `inodes` fuse inodes (a power of two) per
 * policy over a table of `files` files and their re-downloaded copies, `reps` timed batches of `batch` locked
 * conflict checks. Resolves to { [policy]: { conflicts, ns_per_check: number[] } } (conflicts per batch).
 */
export async function runNativeCheck(binaryPath, { inodes, files, batch, reps }) {
  const raw = await runJson(binaryPath, ["--check", ...[inodes, files, batch, reps].map(String)]);
  return raw.policies;
}

/**
 * Reads a dump back (the format writeNativeDump writes): its options and its items in order, each either
 * { backing: BackingFile[] } or { chunk: EventColumns }. The wasm and JS engines replay a workload from the same
 * dump as the C build, each in a process of its own (bench/lib/session-runner.mjs).
 */
export function readNativeDump(file) {
  const b = readFileSync(file);
  const fail = (what) => { throw new Error(`${file}: ${what}`); };
  if (b.length < HEADER_BYTES || b.toString("latin1", 0, 8) !== MAGIC) fail("not a native replay dump");
  const nPolicies = b.readUInt32LE(8);
  const codeOf = (table, code) => Object.keys(table).find((k) => table[k] === code) ?? fail(`unknown code ${code}`);
  const options = {
    policies: Array.from({ length: nPolicies }, (_, i) => codeOf(POLICY_CODE, b.readUInt32LE(HEADER_BYTES + 4 * i))),
    daemon: codeOf(DAEMON_CODE, b.readUInt32LE(12)),
    maxInodes: b.readUInt32LE(16), maxFiles: b.readUInt32LE(20), idMax: b.readUInt32LE(24), chunkRows: b.readUInt32LE(28),
  };
  const items = [];
  let at = HEADER_BYTES + 4 * nPolicies;
  const take = (bytes) => {
    if (at + bytes > b.length) fail(`truncated at byte ${at}`);
    const view = b.subarray(at, at + bytes);
    at += bytes;
    return view;
  };
  // Columns are copied into arrays of their own: aligned, and independent of the file's buffer.
  const u32s = (n) => new Uint32Array(Uint8Array.from(take(4 * n)).buffer);
  for (;;) {
    const head = take(8);
    const tag = head.toString("latin1", 0, 4);
    const n = head.readUInt32LE(4);
    if (tag === "END!") break;
    if (tag === "BACK") {
      const files = [];
      for (let i = 0; i < n; i++) {
        const r = take(BACKING_RECORD_BYTES);
        files.push({ dev: r.readUInt32LE(0), ino: r.readDoubleLE(8), digest: Uint8Array.from(r.subarray(16, 48)) });
      }
      items.push({ backing: files });
    } else if (tag === "EVNT" || tag === "EVNB") {
      const op = Uint8Array.from(take(n));
      take((4 - (n % 4)) % 4);
      const chunk = { length: n, op, nodeid: u32s(n), fh: u32s(n), bref: u32s(n), oflags: u32s(n), fopen: u32s(n) };
      if (tag === "EVNB") chunk.bid = u32s(n);
      items.push({ chunk });
    } else {
      fail(`unknown record ${JSON.stringify(tag)} at byte ${at - 8}`);
    }
  }
  return { options, items };
}
