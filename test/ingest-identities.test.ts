// ingestLibfuseDebug's backing identities: from the identities sidecar, or from the source directory the workload
// left (lstat and sha256 of where each file version ends up), and synthetic ones where neither says.
import { mkdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OP_OPEN } from "../src/abi.js";
import type { IngestOptions } from "../src/ingest/index.js";
import { TmpDir, fixture, ingestTo, replay, sha256 } from "./ingest-helpers.js";

const t = new TmpDir("ingest-test-");
const tmp = (suffix: string) => t.file(suffix);
const ingest = (log: string, extra: Partial<IngestOptions> = {}) => ingestTo(tmp(".fbt"), log, extra);

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
    const src = join(t.dir, "src");
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
    const src = join(t.dir, "src-hidden");
    await mkdir(src);
    await writeFile(join(src, "held.txt"), "another file\n");
    const { summary, trace } = await ingest(fixture("bindfs-unlink-open.log"), { sourceDir: src });
    expect(summary).toMatchObject({ opens: 1, releases: 1, forgets: 1, events: 3 });
    expect(trace.backing).toHaveLength(1);
    expect(trace.backing[0]).toMatchObject({ dev: 0, path: "/held.txt" });
  });
});
