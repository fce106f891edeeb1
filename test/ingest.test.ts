// ingestLibfuseDebug on real bindfs logs and variants derived from them (test/fixtures/README.md): exact counts,
// instance and fh bookkeeping, identities, bad input, and a replay of every produced trace with zero anomalies.
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FOPEN_PASSTHROUGH, OP_FORGET, OP_OPEN, OP_RELEASE } from "../src/abi.js";
import { IngestError, ingestLibfuseDebug, type IngestOptions, type IngestSummary } from "../src/ingest/index.js";
import { NO_BACKING_IDS } from "../src/ingest/machine.js";
import { POLICIES, ReferenceSession } from "../src/replay/index.js";
import { openTrace, type TraceBackingFile } from "../src/trace/index.js";

const FIXTURES = join(import.meta.dirname, "fixtures");
const fixture = (name: string) => join(FIXTURES, name);

let dir: string;
let n = 0;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "ingest-test-")); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });
const tmp = (suffix: string) => join(dir, `f${n++}${suffix}`);

interface Row { op: number; nodeid: number; fh: number; bref: number; oflags: number; fopen: number; pid: number }
interface Trace { rows: Row[]; backing: TraceBackingFile[]; chunks: number }

async function readTrace(path: string): Promise<Trace> {
  const reader = await openTrace(path);
  const rows: Row[] = [];
  const backing: TraceBackingFile[] = [];
  let chunks = 0;
  for await (const item of reader.items()) {
    if (item.kind === "backing") {
      // Each extension comes before the first chunk naming its entries (the reader checks it too).
      expect(item.first).toBe(backing.length);
      backing.push(...item.files);
      continue;
    }
    chunks++;
    const c = item.chunk;
    for (let i = 0; i < c.length; i++) {
      rows.push({ op: c.op[i], nodeid: c.nodeid[i], fh: c.fh[i], bref: c.bref[i], oflags: c.oflags[i], fopen: c.fopen[i], pid: c.pid[i] });
    }
  }
  return { rows, backing, chunks };
}

/** Replays the trace under every policy with the reference model; returns the anomalies and files left open. */
async function replay(path: string): Promise<{ anomalies: number; openAtEnd: number; violations: string[] }> {
  const reader = await openTrace(path);
  const session = new ReferenceSession([], {
    policies: POLICIES, daemon: "per-inode",
    maxInodes: reader.footer.max_nodeid + 1, maxFiles: reader.footer.max_fh + 1,
  });
  for await (const item of reader.items()) {
    if (item.kind === "backing") session.addBacking(item.files);
    else session.feed(item.chunk);
  }
  const outcomes = Object.values(session.outcomes());
  return {
    anomalies: outcomes.reduce((sum, o) => sum + o.anomalies, 0),
    openAtEnd: outcomes.reduce((sum, o) => sum + o.open_at_end, 0),
    violations: session.invariantViolations(),
  };
}

async function ingest(log: string, extra: Partial<IngestOptions> = {}): Promise<{ summary: IngestSummary; trace: Trace; output: string }> {
  const output = tmp(".fbt");
  const summary = await ingestLibfuseDebug({ log, output, ...extra });
  return { summary, trace: await readTrace(output), output };
}

/** Independent count of what the log says: request headers and successful / failed OPEN+CREATE replies. */
function scanLog(text: string): { requests: number; opens: number; failedOpens: number } {
  const opcodes = new Map<string, string>();
  let requests = 0, opens = 0, failedOpens = 0;
  for (const line of text.split("\n")) {
    const req = /^(?:dev )?unique: (\d+), opcode: (\S+)/.exec(line);
    if (req) {
      requests++;
      opcodes.set(req[1], req[2]);
      continue;
    }
    const rep = /^\s*(?:dev )?unique: (\d+), (success|error)/.exec(line);
    if (rep && (opcodes.get(rep[1]) === "OPEN" || opcodes.get(rep[1]) === "CREATE")) {
      if (rep[2] === "success") opens++;
      else failedOpens++;
    }
  }
  return { requests, opens, failedOpens };
}

/** Every OPEN's fh slot is free when it opens and released exactly once afterwards; no row names a free slot. */
function checkPairing(rows: Row[]): void {
  const open = new Set<number>();
  for (const r of rows) {
    if (r.op === OP_OPEN) {
      expect(open.has(r.fh)).toBe(false);
      open.add(r.fh);
    } else if (r.op === OP_RELEASE) {
      expect(open.delete(r.fh)).toBe(true);
    }
  }
  expect(open.size).toBe(0);
}

const count = (rows: Row[], op: number) => rows.filter((r) => r.op === op).length;
const sha256 = (s: string) => new Uint8Array(createHash("sha256").update(s).digest());

describe("bindfs (libfuse 2.9.9 high-level) log", () => {
  it("gives one OPEN per successful OPEN/CREATE, each released, and replays with no anomaly", async () => {
    const text = await readFile(fixture("bindfs-2.9.9.log"), "utf8");
    const { summary, trace, output } = await ingest(fixture("bindfs-2.9.9.log"));
    const scan = scanLog(text);
    expect(scan.opens).toBe(9);
    expect(summary).toEqual({
      lines: 225, malformed: 0, requests: scan.requests, opens: 9, releases: 9, failedOpens: 0, forgets: 1,
      events: 19, backingFiles: 4, unmatchedReleases: 0, openAtEnd: 0, ...NO_BACKING_IDS,
    });
    expect(count(trace.rows, OP_OPEN)).toBe(9);
    expect(count(trace.rows, OP_RELEASE)).toBe(9);
    expect(count(trace.rows, OP_FORGET)).toBe(1);
    checkPairing(trace.rows);
    const opens = trace.rows.filter((r) => r.op === OP_OPEN);
    expect(opens.every((r) => r.fopen === FOPEN_PASSTHROUGH)).toBe(true);
    // Raw flags: O_RDONLY|O_LARGEFILE opens, O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE and O_EXCL creates.
    expect(opens.map((r) => r.oflags)).toEqual([0x8000, 0x8241, 0x8000, 0x80c1, 0x8000, 0x8241, 0x8000, 0x8000, 0x8000]);
    expect(opens.map((r) => r.pid)).toEqual([21581, 21574, 21582, 21582, 21585, 21574, 21586, 21574, 21587]);
    expect(await replay(output)).toEqual({ anomalies: 0, openAtEnd: 0, violations: [] });
  });

  it("reuses fh slots (bindfs fhs are fds) and ends b.txt's instance with a FORGET before it is recreated", async () => {
    const { trace } = await ingest(fixture("bindfs-2.9.9.log"));
    const rows = trace.rows;
    // At most two files are open at once: slots 0 and 1 only.
    expect(new Set(rows.filter((r) => r.op !== OP_FORGET).map((r) => r.fh))).toEqual(new Set([0, 1]));
    const opens = rows.filter((r) => r.op === OP_OPEN);
    // a.txt (daemon nodeid 2) is one instance throughout.
    const aNode = opens[0].nodeid;
    expect([opens[2], opens[7], opens[8]].map((r) => r.nodeid)).toEqual([aNode, aNode, aNode]);
    // b.txt: created (nodeid 3), released, unlinked, FORGET 3/1, then created again as nodeid 6.
    const forgetAt = rows.findIndex((r) => r.op === OP_FORGET);
    const firstB = rows.indexOf(opens[1]);
    const secondB = rows.indexOf(opens[5]);
    expect(firstB).toBeLessThan(forgetAt);
    expect(forgetAt).toBeLessThan(secondB);
    expect(rows[forgetAt].nodeid).toBe(opens[1].nodeid);
    // Synthetic identities: b.txt's two versions differ; d.txt renamed over c.txt keeps its identity.
    expect(opens[1].bref).not.toBe(opens[5].bref);
    expect(opens[3].bref).toBe(opens[4].bref);
    expect(new Set([opens[0], opens[2], opens[7], opens[8]].map((r) => r.bref)).size).toBe(1);
    // Synthetic identities: dev 0, and a digest of each one's own, so unknown bytes never compare equal.
    expect(trace.backing.every((b) => b.dev === 0)).toBe(true);
    expect(new Set(trace.backing.map((b) => Buffer.from(b.digest).toString("hex"))).size).toBe(trace.backing.length);
    expect(trace.backing.map((b) => b.path)).toEqual(["/a.txt", "/b.txt", "/d.txt", "/b.txt"]);
  });

  it("a DELETE line ends the node even where the FORGET count left lookups (the library's word wins)", async () => {
    const plain = await ingest(fixture("bindfs-2.9.9.log"));
    const edited = tmp(".log");
    const text = await readFile(fixture("bindfs-2.9.9.log"), "utf8");
    expect(text).toContain("FORGET 3/1\nDELETE: 3\n");
    await writeFile(edited, text.replace("FORGET 3/1\nDELETE: 3\n", "FORGET 3/0\nDELETE: 3\n"));
    const { summary, trace } = await ingest(edited);
    expect(summary.forgets).toBe(plain.summary.forgets);
    expect(trace.rows).toEqual(plain.trace.rows);
  });

  it("reads a .gz log as the same trace", async () => {
    const plain = await ingest(fixture("bindfs-2.9.9.log"));
    const gz = await ingest(fixture("bindfs-2.9.9.log.gz"));
    expect(gz.summary).toEqual(plain.summary);
    expect(gz.trace).toEqual(plain.trace);
  });

  it("accepts the `dev ` prefix of newer libfuse", async () => {
    const plain = await ingest(fixture("bindfs-2.9.9.log"));
    const dev = await ingest(fixture("dev-prefixed.log"));
    expect(dev.summary).toEqual(plain.summary);
    expect(dev.trace).toEqual(plain.trace);
  });

  it("writes the same trace in small chunks, each backing entry before the chunk naming it", async () => {
    const whole = await ingest(fixture("bindfs-2.9.9.log"));
    const small = await ingest(fixture("bindfs-2.9.9.log"), { chunkRows: 3 });
    expect(small.trace.chunks).toBe(7);
    expect(small.trace.rows).toEqual(whole.trace.rows);
    expect(await replay(small.output)).toEqual({ anomalies: 0, openAtEnd: 0, violations: [] });
  });

  it("counts failed OPEN and CREATE replies and emits nothing for them", async () => {
    const text = await readFile(fixture("bindfs-failed-opens.log"), "utf8");
    const { summary, trace, output } = await ingest(fixture("bindfs-failed-opens.log"));
    expect(scanLog(text)).toMatchObject({ opens: 2, failedOpens: 2 });
    expect(summary).toMatchObject({ opens: 2, failedOpens: 2, releases: 2, unmatchedReleases: 0, openAtEnd: 0, events: 4 });
    checkPairing(trace.rows);
    expect(await replay(output)).toMatchObject({ anomalies: 0, openAtEnd: 0 });
  });

  it("releases the files still open where the log stops, and says so", async () => {
    const lines = (await readFile(fixture("bindfs-2.9.9.log"), "utf8")).split("\n");
    const cut = lines.indexOf("   unique: 8, success, outsize: 32") + 1;
    const log = tmp(".log");
    await writeFile(log, lines.slice(0, cut).join("\n") + "\n");
    const { summary, trace, output } = await ingest(log);
    expect(summary).toMatchObject({ opens: 1, releases: 0, openAtEnd: 1, events: 2 });
    expect(trace.rows.map((r) => r.op)).toEqual([OP_OPEN, OP_RELEASE]);
    expect(await replay(output)).toMatchObject({ anomalies: 0, openAtEnd: 0 });
  });

  it("reports progress up to the file size", async () => {
    const calls: [number, number][] = [];
    await ingest(fixture("bindfs-2.9.9.log.gz"), { onProgress: (read, total) => calls.push([read, total]) });
    const size = (await stat(fixture("bindfs-2.9.9.log.gz"))).size;
    expect(calls.at(-1)).toEqual([size, size]);
  });
});

describe("a real git workload (bindfs, gzipped)", () => {
  it("matches the log's own counts and replays with no anomaly", async () => {
    const text = gunzipSync(await readFile(fixture("bindfs-git.log.gz"))).toString("utf8");
    const scan = scanLog(text);
    const { summary, trace, output } = await ingest(fixture("bindfs-git.log.gz"));
    expect(summary.malformed).toBe(0);
    expect(summary.requests).toBe(scan.requests);
    expect(summary.opens).toBe(scan.opens);
    expect(summary.failedOpens).toBe(scan.failedOpens);
    expect(summary.releases).toBe(scan.opens);
    expect(summary).toMatchObject({ unmatchedReleases: 0, openAtEnd: 0 });
    expect(summary.events).toBe(summary.opens + summary.releases + summary.forgets);
    expect(summary.forgets).toBeGreaterThan(0);
    checkPairing(trace.rows);
    expect(await replay(output)).toEqual({ anomalies: 0, openAtEnd: 0, violations: [] });
  });
});

describe("libfuse 3 low-level log (headers and replies only)", () => {
  it("matches releases by nodeid, binds CREATEs to nodeids, keeps 64-bit nodeids apart", async () => {
    const { summary, trace, output } = await ingest(fixture("libfuse3-lowlevel.log"));
    // The same opens, releases and the one FORGET of an opened inode as the high-level log it was made from. If
    // 2^53 and 2^53+1 were conflated, FORGET of the latter would end the former's (opened) instance: 2 forgets.
    expect(summary).toMatchObject({ opens: 9, releases: 9, failedOpens: 0, forgets: 1, events: 19, unmatchedReleases: 0, openAtEnd: 0, malformed: 0 });
    checkPairing(trace.rows);
    const opens = trace.rows.filter((r) => r.op === OP_OPEN);
    // No flags in the log: O_RDONLY for OPEN, O_RDWR|O_CREAT for CREATE.
    expect(opens.map((r) => r.oflags)).toEqual([0, 0o102, 0, 0o102, 0, 0o102, 0, 0, 0]);
    // The recreated b.txt reuses the freed pointer: FORGET of the old instance comes first.
    const forgetAt = trace.rows.findIndex((r) => r.op === OP_FORGET);
    expect(forgetAt).toBeLessThan(trace.rows.indexOf(opens[5]));
    expect(trace.rows[forgetAt].nodeid).toBe(opens[1].nodeid);
    // Without paths, one synthetic identity per inode instance: a, b, d (= c), b again.
    expect(summary.backingFiles).toBe(4);
    expect(await replay(output)).toEqual({ anomalies: 0, openAtEnd: 0, violations: [] });
  });
});

describe("interleaved requests (a multithreaded daemon)", () => {
  it("pairs replies by unique and lines with the request they follow", async () => {
    const { summary, trace, output } = await ingest(fixture("interleaved.log"));
    expect(summary).toMatchObject({ opens: 3, releases: 2, unmatchedReleases: 1, openAtEnd: 1, events: 6, malformed: 0 });
    const opens = trace.rows.filter((r) => r.op === OP_OPEN);
    // unique 10 (fh 6, O_RDWR) replied first, then unique 8 (fh 5).
    expect(opens.map((r) => [r.oflags, r.pid])).toEqual([[0x8002, 101], [0x8000, 100], [0x8001, 102]]);
    // release[5] then release[6]: the slots of unique 8 and unique 10.
    const releases = trace.rows.filter((r) => r.op === OP_RELEASE);
    expect(releases.slice(0, 2).map((r) => r.fh)).toEqual([opens[1].fh, opens[0].fh]);
    checkPairing(trace.rows);
    expect(await replay(output)).toMatchObject({ anomalies: 0, openAtEnd: 0 });
  });

  it("defers the FORGET of an inode whose last lookup goes while a file is open", async () => {
    const log = tmp(".log");
    await writeFile(log, [
      "unique: 2, opcode: LOOKUP (1), nodeid: 1, insize: 46, pid: 7",
      "   NODEID: 2",
      "   unique: 2, success, outsize: 144",
      "unique: 4, opcode: OPEN (14), nodeid: 2, insize: 48, pid: 7",
      "   open[3] flags: 0x8000 /x",
      "   unique: 4, success, outsize: 32",
      "unique: 6, opcode: FORGET (2), nodeid: 2, insize: 48, pid: 0",
      "FORGET 2/1",
      "unique: 8, opcode: RELEASE (18), nodeid: 2, insize: 64, pid: 0",
      "release[3] flags: 0x8000",
      "   unique: 8, success, outsize: 16",
      "",
    ].join("\n"));
    const { summary, trace, output } = await ingest(log);
    expect(summary).toMatchObject({ opens: 1, releases: 1, forgets: 1, events: 3 });
    expect(trace.rows.map((r) => r.op)).toEqual([OP_OPEN, OP_RELEASE, OP_FORGET]);
    expect(await replay(output)).toMatchObject({ anomalies: 0 });
  });
});

describe("malformed lines", () => {
  it("are counted, the first reported, and the rest of the log ingested", async () => {
    const plain = await ingest(fixture("bindfs-2.9.9.log"));
    const { summary, trace } = await ingest(fixture("malformed.log"));
    expect(summary.malformed).toBe(3);
    expect(summary.firstMalformed).toEqual({ line: 3, text: "\x01\x02garbage\x7f", reason: "control characters (not a text log line)" });
    expect(summary.lines).toBe(plain.summary.lines + 3);
    expect(trace.rows).toEqual(plain.trace.rows);
  });

  it("stop a strict ingest at the first one with LOG:LINE, leaving no file behind", async () => {
    const out = join(dir, "strict");
    await mkdir(out);
    const output = join(out, "t.fbt");
    const log = fixture("malformed.log");
    await expect(ingestLibfuseDebug({ log, output, strict: true })).rejects.toThrow(new IngestError(`${log}:3: control characters (not a text log line)`));
    expect(readdirSync(out)).toEqual([]);
  });

  it("name the line of a header that does not parse and of a reply to an unknown unique", async () => {
    const log = tmp(".log");
    const lines = (await readFile(fixture("malformed.log"), "utf8")).split("\n").filter((l) => !l.includes("garbage"));
    await writeFile(log, lines.join("\n"));
    await expect(ingestLibfuseDebug({ log, output: tmp(".fbt"), strict: true })).rejects.toThrow(`${log}:21: request or reply line does not parse`);
    const { summary } = await ingest(log);
    expect(summary.malformed).toBe(2);
    const noHeader = tmp(".log");
    await writeFile(noHeader, lines.filter((l) => !l.includes("nodeid: two")).join("\n"));
    await expect(ingestLibfuseDebug({ log: noHeader, output: tmp(".fbt"), strict: true })).rejects.toThrow(`${noHeader}:40: reply for unknown unique 9999`);
  });
});

describe("bad input files", () => {
  it("a missing log is an IngestError naming it", async () => {
    const log = join(dir, "absent.log");
    const output = tmp(".fbt");
    await expect(ingestLibfuseDebug({ log, output })).rejects.toThrow(IngestError);
    await expect(ingestLibfuseDebug({ log, output })).rejects.toThrow(new RegExp(`^${log}: cannot read the log`));
    expect(existsSync(output)).toBe(false);
  });

  it("a truncated gzip is an IngestError naming it, and no trace is written", async () => {
    const bytes = await readFile(fixture("bindfs-git.log.gz"));
    const log = tmp(".log.gz");
    await writeFile(log, bytes.subarray(0, bytes.length >> 1));
    const out = join(dir, "trunc");
    await mkdir(out);
    const err = await ingestLibfuseDebug({ log, output: join(out, "t.fbt") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestError);
    expect((err as Error).message).toMatch(new RegExp(`^${log}: corrupt or truncated gzip stream`));
    expect(readdirSync(out)).toEqual([]);
  });

  it("a bad identities line is an IngestError with its line", async () => {
    const ids = tmp(".jsonl");
    await writeFile(ids, `{"unique": 8, "fh": 5, "path": "/a.txt", "dev": 1, "ino": 2, "size": 6, "sha256": "${"a".repeat(64)}"}\n{"unique": 9}\n`);
    await expect(ingestLibfuseDebug({ log: fixture("bindfs-2.9.9.log"), output: tmp(".fbt"), identities: ids }))
      .rejects.toThrow(`${ids}:2: dev must be a non-negative integer`);
  });
});

describe("backing identities", () => {
  it("the identities sidecar gives each open its backing version by unique; equal versions share a bref", async () => {
    const ids = tmp(".jsonl");
    const a = { dev: 64769, ino: 1001, size: 6, sha256: "ab".repeat(32) };
    const entries = [
      { unique: 8, fh: 5, path: "/a.txt", ...a },
      { unique: 18, fh: 5, path: "/b.txt", dev: 64769, ino: 1002, size: 0, sha256: "cd".repeat(32) },
      { unique: 32, fh: 5, path: "/a.txt", ...a },
      { unique: 104, fh: 5, path: "/a.txt", ...a },
      { unique: 106, fh: 6, path: "/a.txt", ...a },
    ];
    await writeFile(ids, entries.map((e) => JSON.stringify(e)).join("\n") + "\n");
    const { summary, trace, output } = await ingest(fixture("bindfs-2.9.9.log"), { identities: ids });
    const opens = trace.rows.filter((r) => r.op === OP_OPEN);
    const aFile = trace.backing[opens[0].bref];
    expect(aFile).toMatchObject({ dev: 64769, ino: 1001, size: 6, path: "/a.txt" });
    expect(Buffer.from(aFile.digest).toString("hex")).toBe("ab".repeat(32));
    expect([opens[2], opens[7], opens[8]].map((r) => r.bref)).toEqual([opens[0].bref, opens[0].bref, opens[0].bref]);
    expect(trace.backing[opens[1].bref]).toMatchObject({ dev: 64769, ino: 1002 });
    // The opens without a sidecar line (d.txt/c.txt, the second b.txt) fall back to synthetic identities.
    expect(trace.backing[opens[3].bref].dev).toBe(0);
    expect(summary.backingFiles).toBe(4);
    expect(await replay(output)).toMatchObject({ anomalies: 0 });
  });

  it("sourceDir: lstat and sha256 of where each file version ends up; removed versions are synthetic", async () => {
    const src = join(dir, "src");
    await mkdir(src);
    // The state the workload left: a.txt, c.txt (d.txt renamed over it, a copy of a.txt), b.txt recreated.
    await writeFile(join(src, "a.txt"), "hello\n");
    await writeFile(join(src, "c.txt"), "hello\n");
    await writeFile(join(src, "b.txt"), "again\n");
    const { summary, trace, output } = await ingest(fixture("bindfs-2.9.9.log"), { sourceDir: src });
    const opens = trace.rows.filter((r) => r.op === OP_OPEN);
    const file = (i: number) => trace.backing[opens[i].bref];
    const st = async (name: string) => stat(join(src, name));
    expect(file(0)).toMatchObject({ dev: (await st("a.txt")).dev, ino: (await st("a.txt")).ino, size: 6, path: "/a.txt" });
    expect(file(0).digest).toEqual(sha256("hello\n"));
    // Created as /d.txt, renamed to /c.txt: found at c.txt, listed under the path it was opened by.
    expect(file(3)).toMatchObject({ ino: (await st("c.txt")).ino, path: "/d.txt" });
    expect(file(4)).toEqual(file(3));
    expect(file(3).digest).toEqual(sha256("hello\n"));
    // The first b.txt was unlinked: synthetic. The second is the file there now.
    expect(file(1)).toMatchObject({ dev: 0, path: "/b.txt" });
    expect(file(5)).toMatchObject({ ino: (await st("b.txt")).ino, size: 6 });
    expect(file(5).digest).toEqual(sha256("again\n"));
    expect(opens[6].bref).toBe(opens[5].bref);
    expect(summary.backingFiles).toBe(4);
    expect(await replay(output)).toMatchObject({ anomalies: 0 });
  });

  it("sourceDir: a file removed while open (libfuse 2 hides it, then unlinks it) is not whatever has its name now", async () => {
    const src = join(dir, "src-hidden");
    await mkdir(src);
    await writeFile(join(src, "held.txt"), "another file\n");
    const { summary, trace } = await ingest(fixture("bindfs-unlink-open.log"), { sourceDir: src });
    expect(summary).toMatchObject({ opens: 1, releases: 1, forgets: 1, events: 3 });
    expect(trace.backing).toHaveLength(1);
    expect(trace.backing[0]).toMatchObject({ dev: 0, path: "/held.txt" });
  });
});
