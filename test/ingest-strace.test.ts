// `ingest --from strace`: the workload's view of a FUSE mount, from a real recording and a hand-written log of the
// fd-table cases (dup, fork, close-on-exec, threads sharing the table, rename, unlink, failed opens).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OP_FORGET, OP_OPEN, OP_RELEASE } from "../src/abi.js";
import { IngestError, ingestLibfuseDebug, ingestStrace } from "../src/ingest/index.js";
import { ReferenceSession } from "../src/replay/index.js";
import { openTrace, type TraceChunk } from "../src/trace/index.js";
import type { TraceBackingFile } from "../src/trace/types.js";
import { need } from "./provision.js";

const dir = mkdtempSync(join(tmpdir(), "fbreplay-strace-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function load(path: string) {
  const reader = await openTrace(path);
  const backing: TraceBackingFile[] = [];
  const rows: { op: number; nodeid: number; fh: number; bref: number; oflags: number; pid: number }[] = [];
  const chunks: TraceChunk[] = [];
  for await (const item of reader.items()) {
    if (item.kind === "backing") backing.push(...item.files);
    else {
      chunks.push(item.chunk);
      const c = item.chunk;
      for (let i = 0; i < c.length; i++) rows.push({ op: c.op[i], nodeid: c.nodeid[i], fh: c.fh[i], bref: c.bref[i], oflags: c.oflags[i], pid: c.pid[i] });
    }
  }
  const s = new ReferenceSession(backing, { policies: ["ptr", "digest"], daemon: "per-inode", maxInodes: reader.footer.max_nodeid + 1, maxFiles: reader.footer.max_fh + 1 });
  for (const c of chunks) s.feed(c);
  return { rows, backing, outcomes: s.outcomes() };
}

describe("ingest --from strace", () => {
  it("a real recording: the workload's strace and the daemon's log give the same opens, releases and FORGETs", async () => {
    const a = join(dir, `t${n++}.fbt`);
    const b = join(dir, `t${n++}.fbt`);
    const fromStrace = await ingestStrace({ log: "test/fixtures/sh-workload.strace", mount: "/rec/mnt", output: a });
    const fromDaemon = await ingestLibfuseDebug({ log: "test/fixtures/sh-workload.daemon.log", output: b });
    expect(fromStrace).toMatchObject({ opens: 5, releases: 5, forgets: 1, malformed: 0, openAtEnd: 0 });
    expect(fromStrace).toMatchObject({ opens: fromDaemon.opens, releases: fromDaemon.releases, forgets: fromDaemon.forgets });
    const t = await load(a);
    expect(t.outcomes.ptr).toMatchObject({ anomalies: 0, opens: 5, open_at_end: 0 });
  });

  it("times each event by its strace timestamp, from the first event on, across midnight", async () => {
    const log = join(dir, "midnight.strace");
    writeFileSync(log, [
      '7 23:59:59.999000 openat(AT_FDCWD</m>, "/m/a", O_RDONLY) = 3</m/a>',
      '7 23:59:59.999500 openat(AT_FDCWD</m>, "/m/b", O_RDONLY) = 4</m/b>',
      '7 00:00:00.000250 close(3</m/a>) = 0', // after midnight
      '7 00:00:02.000250 close(4</m/b>) = 0',
    ].join("\n"));
    for (const chunkRows of [undefined, 1]) {
      const out = join(dir, `t${n++}.fbt`);
      await ingestStrace({ log, mount: "/m", output: out, strict: true, chunkRows });
      const reader = await openTrace(out);
      const times: number[] = [];
      for await (const item of reader.items()) {
        if (item.kind !== "chunk") continue;
        let t = item.chunk.t0;
        for (let i = 0; i < item.chunk.length; i++) {
          if (i > 0) t += item.chunk.dt[i];
          if (item.chunk.op[i] !== OP_FORGET) times.push(t);
        }
      }
      expect(times, `chunks of ${chunkRows ?? "many"} rows`).toEqual([0, 500, 1250, 2_001_250]);
    }
  });

  it("follows descriptions through dup, fork, close-on-exec, shared tables, rename and unlink", async () => {
    const out = join(dir, `t${n++}.fbt`);
    const s = await ingestStrace({ log: "test/fixtures/fds.strace", mount: "/m", output: out });
    // Opens on /m: a, b (child), d (child), b (thread), c. Not: /etc/passwd (off the mount), the failed open, the
    // directory.
    expect(s).toMatchObject({ opens: 5, failedOpens: 1, malformed: 1, firstMalformed: { line: 23 } });
    const { rows, backing, outcomes } = await load(out);
    const ops = rows.map((r) => r.op);
    expect(ops.filter((o) => o === OP_OPEN)).toHaveLength(5);
    expect(ops.filter((o) => o === OP_RELEASE)).toHaveLength(5);
    // b is released by the child's execve (O_CLOEXEC), a only after the parent drops fds 5 and 10 (the child's
    // copy closed at its exit, the thread's F_DUPFD in the shared table); then b (thread's open) when fd 7 closes.
    const order = rows.filter((r) => r.op !== OP_FORGET).map((r) => `${r.op === OP_OPEN ? "open" : "release"}:${r.fh}`);
    const [a, b1, d, b2, c] = rows.filter((r) => r.op === OP_OPEN);
    expect(order).toEqual([
      `open:${a.fh}`, `open:${b1.fh}`, `release:${b1.fh}`, `open:${d.fh}`, `release:${d.fh}`, `open:${b2.fh}`,
      `release:${a.fh}`, `release:${b2.fh}`, `open:${c.fh}`, `release:${c.fh}`,
    ]);
    expect(a.pid).toBe(100);
    expect(b1.pid).toBe(101);
    expect(b1.oflags).toBe(1);
    // b was renamed to c and unlinked while open: its inode ends (FORGET) at the last release; the new c is new.
    const forget = rows.findIndex((r) => r.op === OP_FORGET);
    expect(forget).toBeGreaterThan(rows.findIndex((r) => r.op === OP_RELEASE && r.fh === b2.fh));
    expect(backing[c.bref].ino).not.toBe(backing[b1.bref].ino);
    expect(b1.bref).toBe(b2.bref);
    expect(outcomes.ptr).toMatchObject({ anomalies: 0, opens: 5, open_at_end: 0 });
  });

  it.skipIf(need("fuse"))("counts only the opens the daemon receives: O_PATH sends nothing, a directory is an OPENDIR (a real strace)", async () => {
    // The workload's own strace of a real run (strace comes with the fuse step); the directory is opened without
    // O_DIRECTORY to fsync it, as sqlite and git do, and shows as a directory by the file opened inside it.
    const m = join(dir, "m");
    mkdirSync(m);
    const log = join(dir, "opath.strace");
    const r = spawnSync("strace", ["-f", "-tt", "-y", "-o", log, "python3", "-I", "-c", [
      "import os",
      "os.mkdir('d'); open('d/f', 'w').write('x')",
      "fd = os.open('d', os.O_RDONLY); os.fsync(fd); os.close(fd)",
      "fd = os.open('d/f', os.O_PATH); os.close(fd)",
      "fd = os.open('d/f', os.O_RDONLY); os.close(fd)",
      "os.listdir('d')",
    ].join("\n")], { cwd: m, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const s = await ingestStrace({ log, mount: m, output: join(dir, `t${n++}.fbt`) });
    // d/f created, d/f read: the two opens a daemon would answer. Not: the O_PATH open, d opened to fsync it, and
    // listdir's O_DIRECTORY open of d.
    expect(s).toMatchObject({ opens: 2, releases: 2, opathOpens: 1, directoryOpens: 2, failedOpens: 0 });
  });

  it("strict stops at the first malformed line, naming it, and writes nothing", async () => {
    const out = join(dir, `t${n++}.fbt`);
    await expect(ingestStrace({ log: "test/fixtures/fds.strace", mount: "/m", output: out, strict: true }))
      .rejects.toThrow(new IngestError("test/fixtures/fds.strace:23: not a strace -tt line"));
    await expect(openTrace(out)).rejects.toThrow();
  });

  it("a missing log is an IngestError naming it", async () => {
    await expect(ingestStrace({ log: join(dir, "nope.strace"), mount: "/m", output: join(dir, "x.fbt") })).rejects.toThrow(/nope\.strace: cannot read the log/);
  });
});
