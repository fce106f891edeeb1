// Bad input of every kind ends in one line naming the file and where (exit 2), never a trap, a hang, gigabytes, a
// partial result or a destroyed input (issue 14). One minimal input per class; the fuzz suite (scripts/fuzz) covers
// the space around them.
import { spawnSync } from "node:child_process";
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { Packr } from "msgpackr";
import { afterAll, describe, expect, it, vi } from "vitest";
import { FOPEN_PASSTHROUGH, OP_FORGET, OP_LOOKUP, OP_OPEN, OP_RELEASE } from "../src/abi.js";
import { ingestLibfuseDebug } from "../src/ingest/index.js";
import { recordsOf } from "../src/record/native.js";
import { LineTooLong, MAX_LINE_CHARS, readLines } from "../src/ingest/lines.js";
import { MAX_PENDING } from "../src/ingest/pending.js";
import { inspectTrace } from "../src/inspect/index.js";
import { POLICIES, WasmReplaySession, replayTrace, type ReplayReport } from "../src/replay/index.js";
import { chunkCrc32, encodeChunk, encodeTrailer } from "../src/trace/format.js";
import { IdRemap } from "../src/trace/dense.js";
import { TraceError, TraceWriter, openTrace, type TraceChunk, type TraceFooter } from "../src/trace/index.js";

const CLI = new URL("../dist/cli/bin.js", import.meta.url).pathname;
const MAIN = new URL("../dist/cli/main.js", import.meta.url).pathname;
/** The peak RSS of the process it is imported in (src/rss.ts), for the wrappers below. */
const RSS = new URL("../dist/rss.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "fbreplay-robust-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const tmp = (name: string) => join(dir, `${files++}-${name}`);

const HEADER = {
  format: "fbreplay-trace", version: 1, source: { format: "synth" }, workload: "robust", recorder: { name: "test", version: "0" },
  host_kernel: "", created: "2026-01-01T00:00:00.000Z",
};
const packr = new Packr({ useRecords: false, variableMapSize: true });
const digest = (b: number) => new Uint8Array(32).fill(b);
const BACKING = [0, 1].map((i) => ({ dev: 1, ino: 10 + i, size: 0, path: `f${i}`, digest: digest(i + 1) }));

/** open, open, release, release on two nodeids (lookups first): what each test then breaks. */
function rows(nodeids: [number, number] = [1, 2], fhs: [number, number] = [0, 1]): TraceChunk {
  const op = [OP_LOOKUP, OP_LOOKUP, OP_OPEN, OP_OPEN, OP_RELEASE, OP_RELEASE, OP_FORGET, OP_FORGET];
  const n = op.length;
  const node = [0, 1, 0, 1, 0, 1, 0, 1].map((k) => nodeids[k]);
  const fh = [0, 0, 0, 1, 0, 1, 0, 0].map((k, i) => (op[i] === OP_OPEN || op[i] === OP_RELEASE ? fhs[k] : 0));
  return {
    length: n, t0: 0, op: Uint8Array.from(op), nodeid: Uint32Array.from(node), fh: Uint32Array.from(fh),
    bref: Uint32Array.from([0, 1, 0, 1, 0, 0, 0, 0]), oflags: new Uint32Array(n), fopen: new Uint32Array(n).fill(FOPEN_PASSTHROUGH),
    pid: new Uint32Array(n), dt: new Uint32Array(n),
  };
}

function footerOf(chunk: TraceChunk): TraceFooter {
  return {
    events: chunk.length, chunks: 1, backing_files: BACKING.length, max_nodeid: Math.max(...chunk.nodeid), max_fh: Math.max(...chunk.fh),
    duration_us: 0, chunk_crc32: [chunkCrc32(chunk)],
  };
}

/**
 * A trace file written byte by byte with every CRC right: what a writer would refuse (unknown op codes) and what a
 * footer rewritten with its CRC says, reach the reader as they are.
 */
function traceBytes(chunk: TraceChunk, footer: Partial<TraceFooter> = {}): Buffer {
  const body = Buffer.concat([
    packr.pack(HEADER), packr.pack({ kind: "backing", first: 0, files: BACKING }),
    ...encodeChunk(0, chunk, chunkCrc32(chunk)).map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)),
  ]);
  const f = packr.pack({ kind: "footer", ...footerOf(chunk), ...footer });
  return Buffer.concat([body, f, encodeTrailer({ footerOffset: body.length, footerLength: f.length, footerCrc32: crc32(f) })]);
}

function writeTrace(name: string, chunk: TraceChunk, footer: Partial<TraceFooter> = {}): string {
  const path = tmp(name);
  writeFileSync(path, traceBytes(chunk, footer));
  return path;
}

async function replayOf(path: string, engine: "wasm" | "js" = "wasm"): Promise<ReplayReport> {
  return replayTrace(await openTrace(path), { engine, policies: POLICIES, daemon: "per-inode", scale: 2, restartEvery: 3 });
}

async function refusal(path: string): Promise<string> {
  const err = await replayOf(path).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(TraceError);
  const message = (err as Error).message;
  expect(message).not.toMatch(/[\r\n]/);
  expect(message.startsWith(`${path}: `)).toBe(true);
  return message;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 60_000, env: { ...process.env, ...env } });
}

/** One line on stderr naming what is wrong, nothing on stdout, exit 2. */
function expectOneLine(r: ReturnType<typeof cli>, pattern: RegExp): void {
  expect(r.stdout).toBe("");
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(r.stderr.trimEnd()).toMatch(pattern);
  expect(r.status).toBe(2);
}

describe("a trace's values are checked before they are used (valid CRCs)", () => {
  it("a nodeid beyond the footer's max_nodeid: the chunk and the row are named", async () => {
    const c = rows();
    const path = writeTrace("nodeid.fbt", c, { max_nodeid: 1 });
    expect(await refusal(path)).toMatch(/chunk 0 \(byte \d+\): row 1: nodeid 2 exceeds the footer's max_nodeid 1/);
  });

  it("a deprecated option on a trace found bad while it replays: still one line, the error (the fuzz suite's cli target)", () => {
    const path = writeTrace("deprecated.fbt", rows(), { max_nodeid: 1 });
    expectOneLine(cli(["replay", "--max-memory", "256M", "--restart-at", "5,1", path]), /chunk 0 \(byte \d+\): row 1: nodeid 2 exceeds the footer's max_nodeid 1/);
    expectOneLine(cli(["replay", "--daemon", "per-open", path]), /row 1: nodeid 2 exceeds the footer's max_nodeid 1/);
  });

  it("an fh beyond the footer's max_fh", async () => {
    expect(await refusal(writeTrace("fh.fbt", rows(), { max_fh: 0 }))).toMatch(/row 3: fh 1 exceeds the footer's max_fh 0/);
  });

  it("an unknown op code", async () => {
    const c = rows();
    c.op[5] = 200;
    expect(await refusal(writeTrace("op.fbt", c))).toMatch(/row 5: unknown op code 200/);
  });

  it("a bref beyond the backing table", async () => {
    const c = rows();
    c.bref[2] = 0xffffffff;
    expect(await refusal(writeTrace("bref.fbt", c))).toMatch(/row 2: references backing file 4294967295 but the backing table has 2 entries/);
  });

  it("a recorded id beyond the idr's range and an unknown verdict", async () => {
    const c = rows();
    c.bid = new Uint32Array(c.length);
    c.verdict = new Uint8Array(c.length);
    c.bid[2] = 0x80000000;
    const path = tmp("bid.fbt");
    // the recorded columns have a CRC of their own: write this one through the writer's encoding by hand
    const body = Buffer.concat([
      packr.pack(HEADER), packr.pack({ kind: "backing", first: 0, files: BACKING }),
      ...encodeChunk(0, c, chunkCrc32(c)).map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)),
    ]);
    const f = packr.pack({ kind: "footer", ...footerOf(c) });
    writeFileSync(path, Buffer.concat([body, f, encodeTrailer({ footerOffset: body.length, footerLength: f.length, footerCrc32: crc32(f) })]));
    expect(await refusal(path)).toMatch(/row 2: recorded backing id 2147483648 exceeds/);
    c.bid[2] = 1;
    c.verdict[3] = 9;
    const path2 = tmp("verdict.fbt");
    const body2 = Buffer.concat([
      packr.pack(HEADER), packr.pack({ kind: "backing", first: 0, files: BACKING }),
      ...encodeChunk(0, c, chunkCrc32(c)).map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)),
    ]);
    writeFileSync(path2, Buffer.concat([body2, f, encodeTrailer({ footerOffset: body2.length, footerLength: f.length, footerCrc32: crc32(f) })]));
    expect(await refusal(path2)).toMatch(/row 3: unknown verdict 9/);
  });

  it("footer counts the file cannot hold are refused before anything is sized by them", async () => {
    // events and backing files are bounded by the bytes that would hold them
    expect(await refusal(writeTrace("events.fbt", rows(), { events: 0xffffffff }))).toMatch(/footer \(byte \d+\): events = 4294967295 .* need at least/);
    expect(await refusal(writeTrace("backing.fbt", rows(), { backing_files: 1e9 }))).toMatch(/backing_files = 1000000000 need at least/);
    expect(await refusal(writeTrace("chunks.fbt", rows(), { chunks: 9, chunk_crc32: Array(9).fill(0) }))).toMatch(/events = 8 in chunks = 9 need at least \d+ bytes/);
    expect(await refusal(writeTrace("maxima.fbt", rows(), { max_nodeid: -1 }))).toMatch(/max_nodeid = -1 with events = 8/);
  });

  it("more events or backing files than the footer says: the chunk that goes past is named", async () => {
    expect(await refusal(writeTrace("fewer.fbt", rows(), { events: 3 }))).toMatch(/chunk 0 .*: 8 more events make 8, more than the footer's 3/);
    expect(await refusal(writeTrace("fewer-b.fbt", rows(), { backing_files: 1 }))).toMatch(/backing extension .*: 2 more backing files make 2, more than the footer's 1/);
  });

  it("a footer maximum above the rows' (which once sized 2^32 slots) is still refused, after the rows, naming the footer", async () => {
    expect(await refusal(writeTrace("maxhigh.fbt", rows(), { max_nodeid: 0xffffffff }))).toMatch(/footer \(byte \d+\): the footer says max_nodeid = 4294967295 but the file holds 2/);
  });
});

describe("sparse and huge id spaces are renumbered, not allocated", () => {
  it("a trace whose nodeids and fhs are 32-bit values replays and inspects exactly as its compact twin", async () => {
    const compact = writeTrace("compact.fbt", rows([1, 2], [0, 1]));
    const sparse = writeTrace("sparse.fbt", rows([0xffffffff, 0x9e3779b1], [0xfffffffe, 7]));
    for (const engine of ["wasm", "js"] as const) {
      const [a, b] = [await replayOf(compact, engine), await replayOf(sparse, engine)];
      for (const p of POLICIES) expect({ ...b.policies[p], ns_per_event: 0 }).toEqual({ ...a.policies[p], ns_per_event: 0 });
    }
    const [ia, ib] = [await inspectTrace(await openTrace(compact)), await inspectTrace(await openTrace(sparse))];
    expect({ ...ib, path: "" }).toEqual({ ...ia, path: "" });
  });

  it("the renumbering table gives each id one index, in order of first appearance, however many there are", () => {
    const m = new IdRemap();
    const ids = Array.from({ length: 5000 }, (_, i) => Math.imul(i + 1, 0x9e3779b1) >>> 0);
    ids.forEach((id, i) => expect(m.add(id)).toBe(i));
    ids.forEach((id, i) => expect(m.get(id)).toBe(i));
    expect(m.add(ids[17])).toBe(17);
    expect(m.size).toBe(5000);
  });

  it("inspect and replay of a trace with nodeid 2^32-1 stay under 300 MB of RSS", () => {
    const path = writeTrace("huge.fbt", rows([0xffffffff, 0xfffffffe], [0xffffffff, 0]));
    for (const args of [["inspect", path], ["replay", path, "--scale", "64"]]) {
      // peak RSS of the CLI's own process (its worker threads included), read when it is done
      const wrapper = tmp("rss.mjs");
      writeFileSync(wrapper, `const { main } = await import(${JSON.stringify(MAIN)}); const s = await main(${JSON.stringify(args)}); const { peakRssBytes } = await import(${JSON.stringify(RSS)}); process.stderr.write("RSS " + Math.round(peakRssBytes() / 1024) + " " + s + "\\n");\n`);
      const r = spawnSync(process.execPath, [wrapper], { encoding: "utf8", timeout: 60_000 });
      const [, kb, status] = /RSS (\d+) (\d+)/.exec(r.stderr)!;
      expect(Number(status)).toBe(0);
      expect(Number(kb) * 1024).toBeLessThan(300 * 2 ** 20);
    }
  });

  it("a replay larger than --max-memory is refused before it starts, in one line", () => {
    const path = writeTrace("budget.fbt", rows());
    expectOneLine(cli(["replay", path, "--max-memory", "1M"]), new RegExp(`^fbreplay: ${path}: the whole trace: replaying .* needs about \\d+ MiB, more than --max-memory 1 MiB`));
    expectOneLine(cli(["replay", path, "--max-memory", "lots"]), /^fbreplay: --max-memory lots: expected a size/);
  });
});

describe("no internal error reaches the user as such", () => {
  it("a trap of the wasm core is reported as one line naming the trace and the chunk (exit 2 in the CLI)", async () => {
    const path = writeTrace("trap.fbt", rows());
    const spy = vi.spyOn(WasmReplaySession.prototype, "feed").mockImplementation(() => { throw new WebAssembly.RuntimeError("memory access out of bounds"); });
    try {
      const err = await replayOf(path).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(TraceError);
      expect((err as Error).message).toBe(`${path}: chunk 0: the replay failed: memory access out of bounds`);
    } finally {
      spy.mockRestore();
    }
  });

  it("--ids recorded on a trace without recorded ids: one line, not a table of 100% EIO", () => {
    const path = writeTrace("no-ids.fbt", rows());
    expectOneLine(cli(["replay", path, "--ids", "recorded"]), new RegExp(`^fbreplay: ${path}: the whole trace: it carries no recorded backing ids`));
  });

  it("a directory given as TRACE is named", () => {
    expectOneLine(cli(["inspect", dir]), new RegExp(`^fbreplay: ${dir}: the file: is a directory, not a trace$`));
  });

  it("a results file that is a directory is named", () => {
    expectOneLine(cli(["report", dir, "-o", tmp("r.html")]), new RegExp(`^fbreplay: ${dir}: cannot read \\(EISDIR\\)$`));
  });

  it("an error that is no one's input (a bug) is still one line, exit 1, its stack only with FBREPLAY_DEBUG", async () => {
    const { main } = await import("../src/cli/main.js");
    const feed = vi.spyOn(WasmReplaySession.prototype, "feed").mockImplementation(() => { throw new TypeError("x is not a function\n    at somewhere"); });
    const written: string[] = [];
    const write = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => { written.push(String(chunk)); return true; });
    try {
      expect(await main(["scenarios"])).toBe(1);
    } finally {
      feed.mockRestore();
      write.mockRestore();
    }
    expect(written.join("")).toBe("fbreplay: internal error: x is not a function at somewhere\n");
  });
});

describe("no hang: parsers are linear and bound what they hold", () => {
  it("a line longer than the bound is refused, naming the file and the line, without reading it whole", async () => {
    const path = tmp("long.log");
    writeFileSync(path, `unique: 1, opcode: INIT (26), nodeid: 0, insize: 104, pid: 0\n${"x".repeat(MAX_LINE_CHARS * 8)}\n`);
    const err = await ingestLibfuseDebug({ log: path, output: tmp("long.fbt") }).then(() => null, (e: unknown) => e);
    expect((err as Error).message).toBe(`${path}: line 2 is longer than ${MAX_LINE_CHARS} characters without a line end: not a log of this kind`);
    await expect((async () => { for await (const _ of readLines(path)); })()).rejects.toBeInstanceOf(LineTooLong);
  });

  it("a bare CR ends a line, as LF and CRLF do (a log whose lines end in CR is not one line)", async () => {
    const text = readFileSync("test/fixtures/bindfs-2.9.9.log", "latin1");
    const read = async (t: string) => {
      const path = tmp("cr.log");
      writeFileSync(path, t, "latin1");
      const lines: string[] = [];
      for await (const l of readLines(path)) lines.push(l);
      return lines;
    };
    const lf = await read(text);
    expect(await read(text.replace(/\n/g, "\r"))).toEqual(lf);
    expect(await read(text.replace(/\n/g, "\r\n"))).toEqual(lf);
    const cr = tmp("cr.log");
    writeFileSync(cr, text.replace(/\n/g, "\r"));
    const [a, b] = [await ingestLibfuseDebug({ log: "test/fixtures/bindfs-2.9.9.log", output: tmp("lf.fbt") }), await ingestLibfuseDebug({ log: cr, output: tmp("cr.fbt") })];
    expect(b.events).toBe(a.events);
    expect(b.lines).toBe(a.lines);
  });

  it("a CR at the end of one read block and its LF at the start of the next make one line end", async () => {
    const path = tmp("split.log");
    const first = "a".repeat((1 << 16) - 1);
    writeFileSync(path, `${first}\r\nb\n`);
    const lines: string[] = [];
    for await (const l of readLines(path)) lines.push(l);
    expect(lines).toEqual([first, "b"]);
  });

  it("requests that never get a reply, by the hundred thousand: bounded, and reported", async () => {
    const path = tmp("unmatched.log");
    const n = 100_000;
    writeFileSync(path, Array.from({ length: n }, (_, i) => `unique: ${i + 10}, opcode: OPEN (14), nodeid: 2, insize: 48, pid: 1`).join("\n"));
    const s = await ingestLibfuseDebug({ log: path, output: tmp("unmatched.fbt") });
    expect(s.malformed).toBeGreaterThanOrEqual(n - MAX_PENDING);
    expect(s.firstMalformed!.reason).toMatch(/request 10 \(OPEN\) got no reply before 4096 later requests/);
    const strict = await ingestLibfuseDebug({ log: path, output: tmp("unmatched-strict.fbt"), strict: true }).then(() => null, (e: unknown) => e);
    expect((strict as Error).message).toMatch(new RegExp(`^${path}:\\d+: request 10 \\(OPEN\\) got no reply`));
    expect(existsSync(tmp("unmatched-strict.fbt"))).toBe(false);
  });
});

describe("values of logs are checked where they are read", () => {
  it("a native record whose backing id is beyond the kernel's idr is refused naming the records file and line", () => {
    const path = tmp("records.jsonl");
    const record = { seq: 0, op: "backing_open", unique: 1, nodeid: 2, fh: 0, pid: 1, flags: 0, fopen: 0, backing_id: 2 ** 31, dev: 1, ino: 2, sha256: "", name: "", path: "a", error: 0, t_ns: 0, epoch: 0 };
    writeFileSync(path, `${JSON.stringify({ ...record, backing_id: 1 })}\n${JSON.stringify(record)}\n`);
    expect(() => [...recordsOf(path)()]).toThrow(`${path}:2: backing_id 2147483648 is beyond the idr's 2147483647`);
  });

  it("a backing id beyond the kernel's idr in passthrough_hp's log is a malformed line, not a trace the writer refuses", async () => {
    const text = readFileSync("test/fixtures/passthrough_hp-3.17.2.log", "utf8");
    const lineNo = text.split("\n").findIndex((l) => l.startsWith("DEBUG: setup shared backing file")) + 1;
    const log = tmp("hp.log");
    writeFileSync(log, text.replace(/setup shared backing file \d+/, "setup shared backing file 4294967295"));
    const s = await ingestLibfuseDebug({ log, output: tmp("hp.fbt") });
    expect(s.firstMalformed).toMatchObject({ line: lineNo, reason: "backing file 4294967295 is beyond the idr's 2147483647" });
    const out = tmp("hp-strict.fbt");
    await expect(ingestLibfuseDebug({ log, output: out, strict: true })).rejects.toThrow(`${log}:${lineNo}: backing file 4294967295 is beyond the idr's 2147483647`);
    expect(existsSync(out)).toBe(false);
  });
});

describe("an input is never destroyed; options are checked by the library's ranges", () => {
  it("an output that is an input, by name or through a link, is refused and the input stays as it was", () => {
    const log = tmp("daemon.log");
    writeFileSync(log, readFileSync("test/fixtures/bindfs-2.9.9.log"));
    const before = readFileSync(log);
    const sym = tmp("sym.log");
    symlinkSync(log, sym);
    const hard = tmp("hard.log");
    linkSync(log, hard);
    for (const out of [log, sym, hard]) {
      expectOneLine(cli(["ingest", "--from", "libfuse-debug", log, "-o", out]), /is an input of this command .* writing it would destroy it/);
    }
    expect(readFileSync(log)).toEqual(before);
    const results = tmp("results.json");
    writeFileSync(results, readFileSync("test/fixtures/bench-quick.json"));
    expectOneLine(cli(["export", results, "--format", "csv", "-o", results]), /is an input of this command/);
    expectOneLine(cli(["report", results, "-o", results]), /is an input of this command/);
    expect(readFileSync(results)).toEqual(readFileSync("test/fixtures/bench-quick.json"));
  });

  it("a directory, an empty path or a missing directory as output is refused up front", () => {
    const sub = tmp("outdir");
    mkdirSync(sub);
    expectOneLine(cli(["synth", "--events", "10", "--seed", "1", "-o", sub]), /-o .*: is a directory; name the file to write/);
    expectOneLine(cli(["synth", "--events", "10", "--seed", "1", "-o", ""]), /^fbreplay: -o: the output path is empty$/);
    expectOneLine(cli(["synth", "--events", "10", "--seed", "1", "-o", join(sub, "no", "t.fbt")]), /directory .* does not exist/);
    expectOneLine(cli(["ingest", "--from", "libfuse-debug", "test/fixtures/bindfs-2.9.9.log", "--source-dir", join(sub, "missing"), "-o", tmp("x.fbt")]), /--source-dir .*: not a directory/);
  });

  it("outputs go through a temporary file: a failed export leaves the old file and no temporary", () => {
    const out = tmp("old.csv");
    writeFileSync(out, "old");
    expectOneLine(cli(["export", dir, "--format", "csv", "-o", out]), /cannot read/);
    expect(readFileSync(out, "utf8")).toBe("old");
    expect(statSync(dir).isDirectory()).toBe(true);
    const ok = cli(["export", "test/fixtures/bench-quick.json", "--format", "csv", "-o", out]);
    expect(ok.status).toBe(0);
    expect(readFileSync(out, "utf8")).toMatch(/^name,unit,median/);
  });

  it("negative numbers, huge scales and rates summing past 1 get one line each", () => {
    const trace = writeTrace("opts.fbt", rows());
    expectOneLine(cli(["replay", trace, "--scale", "-1"]), /^fbreplay: --scale -1: expected an integer >= 1$/);
    expectOneLine(cli(["replay", trace, "--scale", "4294967297"]), /^fbreplay: --scale 4294967297: expected an integer in \[1, 65536\]$/);
    expectOneLine(cli(["replay", trace, "--scale", "1e9"]), /--scale 1000000000: expected an integer in \[1, 65536\]/);
    expectOneLine(cli(["replay", trace, "--redownload-rate", "1", "--replace-rate", "1"]), /--redownload-rate \+ --replace-rate must be at most 1, got 2/);
    expectOneLine(cli(["replay", trace, "--restart-every=-5"]), /--restart-every -5: expected an integer >= 1/);
    expectOneLine(cli(["synth", "--events", "-3", "--seed", "1", "-o", tmp("s.fbt")]), /--events -3: expected an integer >= 1/);
    expectOneLine(cli(["replay", trace, "--bogus"]), /^fbreplay: Unknown option '--bogus'/);
    // a value beyond 2^53 in the header (synth's options) is written as the float it is, not refused by msgpack
    const huge = tmp("skew.fbt");
    expect(cli(["synth", "--events", "2", "--seed", "1", "--skew=99999999999999999999999999", "-o", huge]).status).toBe(0);
    expect(existsSync(huge)).toBe(true);
    expectOneLine(cli(["replay", trace, "--scale"]), /^fbreplay: Option '--scale <value>' argument missing$/);
  });
});
