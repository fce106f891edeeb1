// src/record/merge.ts on records made by hand (no root): where the native daemon's restarts go in a kernel capture,
// which bytes its registrations and opens get, and what is done with an identity bindfs's log reader took too late.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FIELDS, KIND, RECORD_SIZE } from "../src/capture/layout.js";
import type { DaemonRecord } from "../src/fuse/records.js";
import { mergeDaemonSide, nativeSide, type DaemonSide, type MergeStats } from "../src/record/merge.js";

const dir = mkdtempSync(join(tmpdir(), "fbreplay-merge-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SHA = { a: "a".repeat(64), b: "b".repeat(64), probe: "", captured: "c".repeat(64) };

function rec(op: DaemonRecord["op"], f: Partial<DaemonRecord> = {}): DaemonRecord {
  return { seq: 0, op, unique: 0, nodeid: 0, fh: 0, pid: 0, flags: 0, fopen: 0, backing_id: 0, dev: 0, ino: 0, sha256: "", name: "", path: "", error: 0, t_ns: 0, epoch: 0, ...f };
}

/** A records.bin whose one record is a registration the kernel answered with `kernelId` (the capture's first). */
function recordsBin(kernelId: number): string {
  const buf = Buffer.alloc(RECORD_SIZE);
  buf.writeUInt32LE(KIND.BACKING_OPEN, FIELDS.kind[0]);
  buf.writeInt32LE(kernelId, FIELDS.error[0]);
  const path = join(dir, `records-${kernelId}.bin`);
  writeFileSync(path, buf);
  return path;
}

function merged(capture: DaemonRecord[], bin: string, side: DaemonSide, digests = new Map<string, string>()) {
  const stats = {} as MergeStats;
  const out = [...mergeDaemonSide(() => capture, bin, digests, side, stats)()];
  return { out, stats };
}

describe("the native daemon's side merged into its kernel capture", () => {
  // The daemon's probe took kernel id 4 before the capture started; the capture's first registration is kernel id 5,
  // trace id 1. The restart came while the daemon handled open 12, before it registered id 6 for it.
  const daemon = [
    rec("backing_open", { backing_id: 4, via: "probe" }), rec("backing_close", { backing_id: 4, via: "probe" }),
    rec("lookup", { unique: 8 }),
    rec("backing_open", { unique: 10, backing_id: 5 }), rec("open", { unique: 10, dev: 3, ino: 30, sha256: SHA.a, path: "x" }),
    rec("restart", { close_ids: false }),
    rec("backing_open", { unique: 12, backing_id: 6 }), rec("open", { unique: 12, dev: 3, ino: 30, sha256: SHA.b, path: "x" }),
    rec("release", { unique: 14 }),
  ];
  const capture = [
    rec("lookup", { unique: 8, t_ns: 50 }),
    rec("backing_open", { backing_id: 1, dev: 3, ino: 30, sha256: SHA.captured, t_ns: 100 }),
    // A release of another file came in between (a parallel reader): the restart is not placed by time.
    rec("release", { unique: 9, t_ns: 150 }),
    rec("open", { unique: 10, dev: 3, ino: 30, sha256: SHA.captured, t_ns: 110 }), rec("verdict", { unique: 10, t_ns: 110 }),
    rec("backing_open", { backing_id: 2, dev: 3, ino: 30, sha256: SHA.captured, t_ns: 200 }),
    rec("open", { unique: 12, dev: 3, ino: 30, sha256: SHA.captured, t_ns: 210 }), rec("verdict", { unique: 12, error: -5, t_ns: 210 }),
    rec("release", { unique: 14, t_ns: 300 }),
  ];

  it("each restart goes right before what the daemon did next (its registration, by the kernel's id)", () => {
    const { out, stats } = merged(capture, recordsBin(5), nativeSide(daemon));
    expect(out.map((r) => r.op)).toEqual(["lookup", "backing_open", "release", "open", "verdict", "restart", "backing_open", "open", "verdict", "release"]);
    expect(out.map((r) => r.seq)).toEqual(out.map((_, i) => i));
    expect(stats).toMatchObject({ restarts: 1, unplacedRestarts: 0, identities: 2, missingIdentities: 0, racedIdentities: 0 });
  });

  it("registrations and opens get the bytes the daemon read at each open", () => {
    const { out, stats } = merged(capture, recordsBin(5), nativeSide(daemon));
    expect(out.filter((r) => r.op === "backing_open" || r.op === "open").map((r) => r.sha256)).toEqual([SHA.a, SHA.a, SHA.b, SHA.b]);
    expect(stats.unhashedBacking).toBe(0);
  });

  it("a restart the daemon made after its last visible act ends the trace, counted", () => {
    const { out, stats } = merged(capture, recordsBin(5), nativeSide([...daemon, rec("restart", { close_ids: true })]));
    expect(out.at(-1)).toMatchObject({ op: "restart", close_ids: true });
    expect(stats).toMatchObject({ restarts: 1, unplacedRestarts: 1 });
  });

  it("a restart before a request the daemon answered without a registration goes before that request", () => {
    const side = nativeSide([rec("open", { unique: 3, sha256: SHA.a }), rec("restart"), rec("lookup", { unique: 4 }), rec("open", { unique: 5, sha256: SHA.b })]);
    const { out } = merged([rec("open", { unique: 3 }), rec("lookup", { unique: 4 }), rec("open", { unique: 5 })], recordsBin(1), side);
    expect(out.map((r) => `${r.op}${r.unique || ""}`)).toEqual(["open3", "restart", "lookup4", "open5"]);
  });
});

describe("the native daemon's identities merged into its kernel capture", () => {
  it("stand where they name another inode than the kernel's registration (a per-nodeid id kept across a re-download)", () => {
    const side = nativeSide([rec("open", { unique: 1, dev: 3, ino: 30, sha256: SHA.a }), rec("open", { unique: 2, dev: 3, ino: 31, sha256: SHA.a })]);
    const { out, stats } = merged([rec("open", { unique: 1, ino: 30 }), rec("open", { unique: 2, ino: 30 })], recordsBin(1), side);
    expect(out.map((r) => [r.dev, r.ino, r.sha256])).toEqual([[3, 30, SHA.a], [3, 31, SHA.a]]);
    expect(stats).toMatchObject({ identities: 2, racedIdentities: 0 });
  });
});

describe("bindfs's identities merged into its kernel capture", () => {
  const side: DaemonSide = {
    opens: new Map([
      [1, { dev: 3, ino: 30, sha256: SHA.a, path: "/a" }],
      // Read after `mv b a`: the name a now is inode 40, but the kernel opened inode 30.
      [2, { dev: 3, ino: 40, sha256: SHA.b, path: "/a" }],
    ]),
    registeredFor: new Map(), restarts: [], exact: false,
  };

  it("an identity of another inode than the kernel opened keeps the kernel's inode and its last bytes, counted", () => {
    const { out, stats } = merged([rec("open", { unique: 1, ino: 30 }), rec("open", { unique: 2, ino: 30 }), rec("open", { unique: 3, ino: 50 })], recordsBin(1), side);
    expect(out.map((r) => [r.dev, r.ino, r.sha256])).toEqual([[3, 30, SHA.a], [3, 30, SHA.a], [0, 50, ""]]);
    expect(stats).toMatchObject({ identities: 1, racedIdentities: 1, missingIdentities: 1 });
  });
});
