// `fbreplay record` on a real FUSE mount (bindfs): the trace it writes, and that no mount is ever left behind.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { interruptRecording, recorderMounts } from "./fuse-env.js";
import { need } from "./provision.js";
import { Workload } from "../src/record/workload.js";

const CLI = "dist/cli/bin.js";


const problem = need("fuse");


function fbreplay(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env });
}

describe.skipIf(problem !== null)("fbreplay record (real FUSE mount)", () => {
  let dir: string;
  let src: string;
  /** The recorder's scratch directories go under `scratch`, where recorderMounts(scratch) looks. */
  let scratch: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "fbreplay-record-test-"));
    src = join(dir, "src");
    scratch = join(dir, "tmp");
    mkdirSync(src);
    mkdirSync(scratch);
    env = { ...process.env, TMPDIR: scratch };
    writeFileSync(join(src, "a.txt"), "alpha\n");
    writeFileSync(join(src, "b.txt"), "beta\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("records every open and release of a workload, with backing identities and digests", () => {
    const out = join(dir, "w.fbt");
    const workload = "cat a.txt b.txt > c.txt; exec 3<a.txt; cat a.txt > /dev/null; exec 3<&-; mv c.txt a.txt; cat a.txt > /dev/null; rm b.txt";
    const r = fbreplay(["record", "--src", src, "-o", out, "--", "sh", "-c", workload], env);
    expect(r.stderr).toMatch(/^wrote .*w\.fbt: \d+ events/m);
    expect(r.status).toBe(0);
    expect(recorderMounts(scratch)).toEqual([]);
    const stats = JSON.parse(fbreplay(["inspect", out, "--json"], env).stdout);
    // opens: a.txt, b.txt (cat), c.txt (create), a.txt (fd 3), a.txt (cat), a.txt again after the rename (cat).
    expect(stats.opens).toBe(6);
    expect(stats.releases).toBe(6);
    expect(stats.overlapping_opens).toBeGreaterThanOrEqual(1);
    expect(stats.backing_inodes).toBeGreaterThanOrEqual(3);
    const replay = JSON.parse(fbreplay(["replay", out, "--json"], env).stdout);
    expect(replay.policies.ptr.anomalies).toBe(0);
    expect(replay.policies.ptr.opens).toBe(6);
  });

  it("takes the mount down and writes no trace when the command fails", () => {
    const out = join(dir, "fail.fbt");
    const r = fbreplay(["record", "-o", out, "--", "sh", "-c", "echo x > f; exit 3"], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/exited with status 3: the mount is down, no trace written/);
    expect(existsSync(out)).toBe(false);
    expect(recorderMounts(scratch)).toEqual([]);
  });

  it("takes the mount down when interrupted", async () => {
    const out = join(dir, "int.fbt");
    const { status, stderr, mountsBefore } = await interruptRecording([], out, scratch);
    expect(mountsBefore).toBe(1);
    expect(status).toBe(130);
    expect(stderr).toMatch(/interrupted: the mount is down, no trace written/);
    expect(existsSync(out)).toBe(false);
    expect(recorderMounts(scratch)).toEqual([]);
  });
});

it("an interrupt that comes while the mount comes up means the workload never starts", async () => {
  const workload = new Workload();
  try {
    process.emit("SIGINT", "SIGINT"); // the handler, as a real Ctrl-C would call it
    expect(workload.interrupted).toBe(true);
    const started = Date.now();
    expect(await workload.run(["sleep", "30"], tmpdir())).toBe(130);
    expect(Date.now() - started).toBeLessThan(5_000);
  } finally {
    workload.dispose();
  }
  expect(process.listenerCount("SIGINT")).toBe(0);
});

it("names the missing prerequisites in one line", () => {
  const empty = mkdtempSync(join(tmpdir(), "fbreplay-nopath-"));
  const r = fbreplay(["record", "-o", join(empty, "x.fbt"), "--", "true"], { ...process.env, PATH: empty });
  rmSync(empty, { recursive: true, force: true });
  expect(r.status).toBe(2);
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^fbreplay: record needs .*bindfs, fusermount3, strace.*: run scripts\/install-fuse\.sh as root$/);
});
