// `fbreplay record --daemon bindfs|native` through the kernel capture (src/record/kernel.ts, merge.ts), on real
// mounts: each workload recorded twice, from the kernel and with --no-capture (bindfs -d and its identities; the
// native daemon's own records), and the two traces compared on what both can see: the opens in order (flags, which
// file, its bytes, the kernel's verdict, the id), the releases (which open each ends), the native daemon's restarts.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OP_OPEN, OP_RELEASE, OP_RESTART } from "../src/abi.js";
import { tryLoadAddon } from "../src/fuse/index.js";
import { openTrace } from "../src/trace/index.js";
import { VERDICT_ACCEPTED, VERDICT_REFUSED, type TraceBackingFile } from "../src/trace/types.js";
import { recorderMounts } from "./fuse-env.js";
import { need } from "./provision.js";

const CLI = "dist/cli/bin.js";
const problem = need("fuse") ?? need("capture");
const addon = tryLoadAddon();

let dir: string;
let src: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fbreplay-record-capture-test-"));
  src = join(dir, "src");
  mkdirSync(src);
  writeFileSync(join(src, "a.txt"), "alpha\n");
  writeFileSync(join(src, "b.txt"), "beta\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fbreplay(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, TMPDIR: dir } });
}

interface Open {
  flags: number;
  /** The backing inode as a number of first appearance in the trace (each recording has its own scratch copy). */
  file: number;
  digest: string;
  bid: number;
  verdict: number;
}

/** A trace's opens, its releases (the open each ends, by index), and the opens that came before each restart. */
async function readRows(path: string) {
  const reader = await openTrace(path);
  const backing: TraceBackingFile[] = [];
  const files = new Map<string, number>();
  const opens: Open[] = [];
  const releases: number[] = [];
  const restartsAfter: number[] = [];
  const openOfSlot = new Map<number, number>();
  for await (const item of reader.items()) {
    if (item.kind === "backing") {
      backing.push(...item.files);
      continue;
    }
    const c = item.chunk;
    for (let i = 0; i < c.length; i++) {
      if (c.op[i] === OP_OPEN) {
        const b = backing[c.bref[i]];
        const key = `${b.dev}:${b.ino}`;
        if (!files.has(key)) files.set(key, files.size);
        openOfSlot.set(c.fh[i], opens.length);
        opens.push({ flags: c.oflags[i], file: files.get(key)!, digest: Buffer.from(b.digest).toString("hex"), bid: c.bid?.[i] ?? 0, verdict: c.verdict?.[i] ?? 0 });
      } else if (c.op[i] === OP_RELEASE) {
        releases.push(openOfSlot.get(c.fh[i])!);
      } else if (c.op[i] === OP_RESTART) {
        restartsAfter.push(opens.length);
      }
    }
  }
  return { source: reader.header.source, opens, releases: releases.sort((a, b) => a - b), restartsAfter };
}

/** The workload recorded from the kernel and with --no-capture, each with its raw captures kept. */
async function recordBoth(name: string, options: string[], script: string) {
  const out: Record<"capture" | "own", { stderr: string; keep: string; trace: Awaited<ReturnType<typeof readRows>>; path: string }> = {} as never;
  for (const how of ["capture", "own"] as const) {
    const keep = join(dir, `${name}-${how}`);
    const path = join(dir, `${name}-${how}.fbt`);
    const r = fbreplay(["record", ...options, "--src", src, "--keep", keep, ...(how === "own" ? ["--no-capture"] : []), "-o", path, "--", "sh", "-c", script]);
    expect(r.status, r.stderr).toBe(0);
    expect(recorderMounts(dir)).toEqual([]);
    out[how] = { stderr: r.stderr, keep, trace: await readRows(path), path };
  }
  return out;
}

function oracle(trace: string) {
  const r = fbreplay(["oracle", trace, "--json"]);
  expect(r.status, r.stdout + r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { runs: { daemon: string; compared: number; kernel_refused: number; mismatches: unknown[]; anomalies: number }[] };
}

describe.skipIf(problem)("record --daemon bindfs through the kernel capture", () => {
  it("agrees with bindfs -d on every open and release, with bindfs's identities merged by unique", async () => {
    // The pause before the rename: bindfs's identities are read from its log as the log is written, and without the
    // kernel capture (--no-capture) an identity read after the rename names the new a.txt (the capture keeps the
    // kernel's inode then: test/record-merge.test.ts). It is not what is compared here.
    const script = "cat a.txt b.txt > c.txt; exec 3<a.txt; cat a.txt > /dev/null; exec 3<&-; sleep 0.3; mv c.txt a.txt; cat a.txt > /dev/null; rm b.txt";
    const { capture, own } = await recordBoth("bindfs", [], script);
    expect(capture.stderr).toMatch(/^wrote .*: \d+ events \(6 opens, 0 refused by the kernel, 6 releases, .*; from the kernel capture \(BPF: .*bindfs's identities merged by unique\); the workload saw 0 opens fail with EIO$/m);
    expect(own.stderr).toMatch(/; from bindfs -d \(--no-capture\)/);
    expect(capture.trace.source).toMatchObject({ format: "fbreplay-capture", complete: true, recorded_by: "fbreplay record --daemon bindfs" });
    const [c, o] = [capture.trace, own.trace];
    expect(c.opens).toHaveLength(6);
    expect(c.opens.map((x) => [x.flags, x.file])).toEqual(o.opens.map((x) => [x.flags, x.file]));
    expect(c.releases).toEqual(o.releases);
    expect(c.releases).toEqual([0, 1, 2, 3, 4, 5]);
    // The kernel's verdicts: bindfs passes nothing through, so it refuses none (the workload's strace agrees).
    expect(c.opens.every((x) => x.verdict === VERDICT_ACCEPTED && x.bid === 0)).toBe(true);
    // Each open's bytes are bindfs's identity of that open (as it happened: c.txt empty when created).
    const identities = readFileSync(join(capture.keep, "identities.jsonl"), "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { sha256: string }).sha256);
    expect(c.opens.map((x) => x.digest)).toEqual(identities);
    expect(oracle(capture.path).runs[0]).toMatchObject({ daemon: "recorded", compared: 6, kernel_refused: 0, mismatches: [], anomalies: 0 });
  });
});

describe.skipIf(problem ?? (addon instanceof Error ? addon.message : null))("record --daemon native through the kernel capture", () => {
  /** The two recordings agree open by open; the capture's ids are the kernel's less its offset (the probe's id came before). */
  function expectAgree(c: Awaited<ReturnType<typeof readRows>>, o: Awaited<ReturnType<typeof readRows>>) {
    expect(c.opens.map((x) => [x.flags, x.file, x.digest, x.verdict])).toEqual(o.opens.map((x) => [x.flags, x.file, x.digest, x.verdict]));
    const offset = c.source.backing_id_offset as number;
    expect(c.opens.map((x) => x.bid + offset)).toEqual(o.opens.map((x) => x.bid));
    expect(c.releases).toEqual(o.releases);
    expect(c.restartsAfter).toEqual(o.restartsAfter);
  }

  /** The recorded ids replayed under ptr: every counter of the kernel's check the same from both traces. */
  function expectSameReplay(capture: string, own: string) {
    const [c, o] = [capture, own].map((path) => {
      const r = fbreplay(["replay", path, "--ids", "recorded", "--policy", "ptr", "--json"]);
      expect(r.status, r.stderr).toBe(0);
      const ptr = (JSON.parse(r.stdout) as { policies: { ptr: Record<string, number> } }).policies.ptr;
      return { opens: ptr.opens, accepted: ptr.accepted, ebusy: ptr.ebusy, enoent: ptr.enoent, eio: ptr.eio, releases: ptr.releases, restarts: ptr.restarts, anomalies: ptr.anomalies };
    });
    expect(c).toEqual(o);
  }

  it("a restart while a file is held: the restart merged where the daemon made it, the kernel's refusal, oracle 0 mismatches", async () => {
    const script = "echo x > x.txt; exec 3<x.txt; cat x.txt || echo refused; exec 3<&-; cat x.txt; cat a.txt b.txt >/dev/null";
    const { capture, own } = await recordBoth("native-restart", ["--daemon", "native", "--restart-at", "3"], script);
    if (own.trace.source.passthrough !== true) return void console.log(`skipped: the kernel did not take FUSE_PASSTHROUGH (${own.stderr.trim()})`);
    expect(capture.stderr).toMatch(/^wrote .*: \d+ events \(6 opens, 1 refused by the kernel, 6 releases, .*, 1 restarts\), .*; from the kernel capture \(BPF: the kernel's pairing, ids and verdicts\); the workload saw 1 opens fail with EIO$/m);
    expect(capture.stderr).not.toMatch(/warning|closed before they could be read/);
    expect(own.stderr).toMatch(/; from the daemon's records \(--no-capture\)/);
    expect(capture.trace.source).toMatchObject({ format: "fbreplay-capture", daemon_model: "per-inode", complete: true, passthrough: true });
    expectAgree(capture.trace, own.trace);
    expectSameReplay(capture.path, own.path);
    expect(capture.trace.restartsAfter).toEqual([2]);
    expect(capture.trace.opens.filter((x) => x.verdict === VERDICT_REFUSED)).toHaveLength(1);
    const runs = oracle(capture.path).runs;
    expect(runs.map((r) => r.daemon)).toEqual(["recorded", "per-inode"]);
    for (const run of runs) expect(run, run.daemon).toMatchObject({ compared: 6, kernel_refused: 1, mismatches: [], anomalies: 0 });
  });

  it("one id per open, two files held while others read them, restarts closing their ids: the same on both sides, oracle 0 mismatches", async () => {
    const script = "exec 3<a.txt; cat a.txt >/dev/null; exec 4<b.txt; cat b.txt a.txt >/dev/null; exec 3<&- 4<&-; cat a.txt b.txt >/dev/null";
    const { capture, own } = await recordBoth("native-per-open", ["--daemon", "native", "--ids", "per-open", "--restart-every", "4", "--close-ids"], script);
    if (own.trace.source.passthrough !== true) return void console.log(`skipped: the kernel did not take FUSE_PASSTHROUGH (${own.stderr.trim()})`);
    expectAgree(capture.trace, own.trace);
    expectSameReplay(capture.path, own.path);
    const refused = capture.trace.opens.filter((x) => x.verdict === VERDICT_REFUSED).length;
    expect(refused).toBeGreaterThan(0);
    expect(capture.trace.restartsAfter.length).toBeGreaterThan(0);
    expect(capture.stderr).toMatch(new RegExp(`${refused} refused by the kernel, .*; the workload saw ${refused} opens fail with EIO$`, "m"));
    const runs = oracle(capture.path).runs;
    expect(runs.map((r) => r.daemon)).toEqual(["recorded", "per-open"]);
    for (const run of runs) expect(run, run.daemon).toMatchObject({ compared: capture.trace.opens.length, kernel_refused: refused, mismatches: [], anomalies: 0 });
  });
});
