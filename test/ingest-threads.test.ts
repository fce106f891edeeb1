// A multithreaded daemon's `-d` log: libfuse writes each of its lines with one call, passthrough_hp its DEBUG lines
// piece by piece (`cerr <<`), so other threads' pieces run into libfuse's lines and into one another. The fixture
// is a real one: passthrough_hp --backing-per-open --num-threads 4 under strace (which slows each write and makes
// the pieces interleave often), two parallel readers; the kernel's capture of that run refused 2 opens.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseLine, splitInterleaved } from "../src/ingest/parse.js";

const CLI = "dist/cli/bin.js";
const dir = mkdtempSync(join(tmpdir(), "fbreplay-ingest-threads-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ingest(log: string, name: string) {
  const out = join(dir, `${name}.fbt`);
  const r = spawnSync(process.execPath, [CLI, "ingest", "--from", "libfuse-debug", log, "-o", out], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  const replayed = spawnSync(process.execPath, [CLI, "replay", out, "--ids", "recorded", "--policy", "ptr", "--json"], { encoding: "utf8" });
  expect(replayed.status, replayed.stderr).toBe(0);
  const inspected = spawnSync(process.execPath, [CLI, "inspect", out, "--json"], { encoding: "utf8" });
  return { stderr: r.stderr, ptr: JSON.parse(replayed.stdout).policies.ptr, inspect: JSON.parse(inspected.stdout) };
}

describe("lines written into one another", () => {
  it("a libfuse line after another thread's unfinished piece is split off and read", () => {
    const line = "DEBUG: closed backing file unique: 156, opcode: OPEN (14), nodeid: 140292757918136, insize: 48, pid: 25078";
    const cut = splitInterleaved(line)!;
    expect(cut[0]).toBe("DEBUG: closed backing file");
    expect(parseLine(cut[1])).toEqual({ kind: "request", unique: "156", opcode: "OPEN", nodeid: "140292757918136", pid: 25078 });
    expect(parseLine(cut[0])).toEqual({ kind: "garbled" });
    const reply = splitInterleaved("DEBUG: setup backing file    unique: 40, success, outsize: 16")!;
    expect(parseLine(reply[1])).toEqual({ kind: "reply", unique: "40", error: 0 });
    // A whole DEBUG line between two pieces of another.
    const whole = splitInterleaved("DEBUG:do_lookup:425 inode 2181641 count DEBUG: setup backing file 8 for open 19 of inode 140292757918824")!;
    expect(parseLine(whole[1])).toEqual({ kind: "backing", action: "setup", id: 8, inode: "140292757918824" });
    expect(splitInterleaved("unique: 2, opcode: INIT (26), nodeid: 0, insize: 104, pid: 0")).toBeUndefined();
    expect(parseLine(" for open 11DEBUG: setup backing file 4 for open 14 of inode  of inode 139841652132776")).toEqual({ kind: "garbled" });
    // Megabyte lines of near misses (the fuzz suite's kind): each is looked at once, and the reply after spaces alone
    // is a reply, not a piece.
    expect(splitInterleaved(`${" ".repeat(1 << 20)}unique: 7, success, outsize: 16`)).toBeUndefined();
    expect(splitInterleaved(`x${" unique: 1,".repeat(100_000)}`)).toBeUndefined();
    const spaced = `${" ".repeat(1 << 20)}dev unique: 7, success, outsize: 16`;
    expect(splitInterleaved(`x${spaced}`)).toEqual(["x", spaced]);
    expect(parseLine(spaced)).toEqual({ kind: "reply", unique: "7", error: 0 });
  });

  it("an open whose header was run into is still an open, and its id line lost is counted, not an EIO", () => {
    const log = join(dir, "small.log");
    writeFileSync(log, [
      "unique: 2, opcode: LOOKUP (1), nodeid: 1, insize: 43, pid: 5",
      "   unique: 2, success, outsize: 144",
      "unique: 4, opcode: OPEN (14), nodeid: 100, insize: 48, pid: 5",
      "DEBUG: setup backing file 1unique: 6, opcode: OPEN (14), nodeid: 200, insize: 48, pid: 6",
      " for open 10DEBUG: setup backing file 2 for open 11 of inode  of inode 100",
      "200",
      "   unique: 4, success, outsize: 32",
      "   unique: 6, success, outsize: 32",
      "unique: 8, opcode: RELEASE (18), nodeid: 100, insize: 64, pid: 0",
      "   unique: 8, success, outsize: 16",
      "unique: 10, opcode: RELEASE (18), nodeid: 200, insize: 64, pid: 0",
      "   unique: 10, success, outsize: 16",
      "",
    ].join("\n"));
    const r = ingest(log, "small");
    expect(r.stderr).toContain("(2 opens, 2 releases, 0 forgets)");
    expect(r.stderr).not.toContain("malformed");
    expect(r.stderr).toContain("2 opens whose backing id the log does not tell for certain (2 DEBUG lines written into by other daemon threads");
    expect(r.ptr).toMatchObject({ opens: 2, eio: 0 });
    expect(r.inspect).toMatchObject({ ambiguous_ids: 2 });
  });

  it("an id line read while two opens of its inode are in flight is the one's that replies first without an id", () => {
    // The daemon's threads handle 84 and 82 at once; 82's setup line comes, then its reply. The line used to go to the
    // older request (84) for good, which left 82 with no id: an EIO the kernel never gave.
    const log = join(dir, "taken.log");
    writeFileSync(log, [
      "unique: 2, opcode: LOOKUP (1), nodeid: 1, insize: 43, pid: 5",
      "   unique: 2, success, outsize: 144",
      "unique: 84, opcode: OPEN (14), nodeid: 100, insize: 48, pid: 6",
      "unique: 82, opcode: OPEN (14), nodeid: 100, insize: 48, pid: 5",
      "DEBUG: setup backing file 10 for open 20 of inode 100",
      "   unique: 82, success, outsize: 32",
      "unique: 86, opcode: FLUSH (25), nodeid: 100, insize: 64, pid: 5",
      "   unique: 86, success, outsize: 16",
      "unique: 88, opcode: RELEASE (18), nodeid: 100, insize: 64, pid: 0",
      "DEBUG: closed backing file 10 for open 20 of inode 100",
      "   unique: 88, success, outsize: 16",
      "DEBUG: setup backing file 11 for open 21 of inode 100",
      "   unique: 84, success, outsize: 32",
      "unique: 90, opcode: FLUSH (25), nodeid: 100, insize: 64, pid: 6",
      "   unique: 90, success, outsize: 16",
      "unique: 92, opcode: RELEASE (18), nodeid: 100, insize: 64, pid: 0",
      "DEBUG: closed backing file 11 for open 21 of inode 100",
      "   unique: 92, success, outsize: 16",
      "",
    ].join("\n"));
    const r = ingest(log, "taken");
    expect(r.stderr).not.toContain("malformed");
    expect(r.stderr).toContain("recorded backing ids: 2 of 2 opens, 2 registrations, 2 closes");
    expect(r.ptr).toMatchObject({ opens: 2, eio: 0 });
    expect(r.inspect.ambiguous_ids).toBeGreaterThan(0);
  });

  it("a second real log, where an id line went to the wrong one of two opens in flight: the kernel's 1 EIO", () => {
    // passthrough_hp --backing-per-open --num-threads 4, the capture test's workload, under a concurrent kernel-check
    // (2026-12-07): the kernel refused 1 open (the held file); the ingest used to give 2.
    const r = ingest("test/fixtures/per-open-threads-taken.log.gz", "taken-fixture");
    expect(r.stderr).not.toContain("malformed");
    expect(r.stderr).toContain("recorded backing ids: 52 of 52 opens");
    expect(r.ptr.eio).toBe(1);
  });

  it("a third real log, where another thread's digits ran into an id (`backing file 48139788300587592`): garbled, the kernel's 1 EIO", () => {
    // The same run as the fixture above (another attempt): the line used to be malformed and its open left with no id.
    const r = ingest("test/fixtures/per-open-threads-digits.log.gz", "digits-fixture");
    expect(r.stderr).not.toContain("malformed");
    expect(r.stderr).toContain("recorded backing ids: 52 of 52 opens");
    expect(r.ptr.eio).toBe(1);
  });

  it("the real log: every request read, never more EIO than the kernel's 2, and the uncertain ids counted", () => {
    const r = ingest("test/fixtures/per-open-threads-garbled.log.gz", "fixture");
    expect(r.stderr).not.toContain("malformed");
    expect(r.stderr).toContain("(52 opens, 52 releases, 0 forgets)");
    expect(r.stderr).toContain("recorded backing ids: 52 of 52 opens");
    expect(r.ptr.eio).toBeLessThanOrEqual(2);
    const uncertain = Number(/; (\d+) opens whose backing id the log does not tell for certain/.exec(r.stderr)?.[1] ?? 0);
    expect(uncertain).toBeGreaterThan(0);
    expect(r.inspect.ambiguous_ids).toBe(uncertain);
  });
});
