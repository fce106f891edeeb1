// ingestLibfuseDebug on real bindfs logs and variants derived from them (test/fixtures/README.md): exact counts,
// instance and fh bookkeeping, and a replay of every produced trace with zero anomalies. Bad input:
// ingest-errors.test.ts; backing identities: ingest-identities.test.ts.
import { readFile, stat, writeFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { FOPEN_PASSTHROUGH, OP_FORGET, OP_OPEN, OP_RELEASE } from "../src/abi.js";
import { NO_BACKING_IDS } from "../src/ingest/counts.js";
import type { IngestOptions } from "../src/ingest/index.js";
import { TmpDir, checkPairing, count, fixture, ingestTo, replay, scanLog } from "./ingest-helpers.js";

const t = new TmpDir("ingest-test-");
const tmp = (suffix: string) => t.file(suffix);
const ingest = (log: string, extra: Partial<IngestOptions> = {}) => ingestTo(tmp(".fbt"), log, extra);

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
