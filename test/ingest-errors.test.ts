// ingestLibfuseDebug on bad input: malformed lines (counted, or stopping a strict ingest at LOG:LINE) and logs or
// sidecars that cannot be read, each an IngestError naming the file, with no trace left behind.
import { existsSync, readdirSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { IngestError, ingestLibfuseDebug, type IngestOptions } from "../src/ingest/index.js";
import { TmpDir, fixture, ingestTo } from "./ingest-helpers.js";

const t = new TmpDir("ingest-test-");
const tmp = (suffix: string) => t.file(suffix);
const ingest = (log: string, extra: Partial<IngestOptions> = {}) => ingestTo(tmp(".fbt"), log, extra);

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
    const out = join(t.dir, "strict");
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
    const log = join(t.dir, "absent.log");
    const output = tmp(".fbt");
    await expect(ingestLibfuseDebug({ log, output })).rejects.toThrow(IngestError);
    await expect(ingestLibfuseDebug({ log, output })).rejects.toThrow(new RegExp(`^${log}: cannot read the log`));
    expect(existsSync(output)).toBe(false);
  });

  it("a truncated gzip is an IngestError naming it, and no trace is written", async () => {
    const bytes = await readFile(fixture("bindfs-git.log.gz"));
    const log = tmp(".log.gz");
    await writeFile(log, bytes.subarray(0, bytes.length >> 1));
    const out = join(t.dir, "trunc");
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
