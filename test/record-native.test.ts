// `fbreplay record --daemon native` on real kernel passthrough: every open of a real workload in the trace with its
// backing identity and recorded id; a daemon restart while a file is held open, which the kernel refuses (EIO);
// `replay --ids recorded` reproducing the kernel's ids and verdicts; `fbreplay oracle` agreeing with the kernel.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { recorderMounts } from "./fuse-env.js";
import { need } from "./provision.js";
import { OP_BACKING_OPEN, OP_OPEN, OP_RESTART } from "../src/abi.js";
import { tryLoadAddon, type DaemonRecord } from "../src/fuse/index.js";
import { openTrace } from "../src/trace/index.js";
import { VERDICT_ACCEPTED, VERDICT_REFUSED, type TraceBackingFile, type TraceChunk } from "../src/trace/types.js";

const CLI = "dist/cli/bin.js";

/** Why the native recorder cannot run here (printed once), or null. */
function problemOf(): string | null {
  const fuse = need("fuse");
  if (fuse !== null) return fuse;
  const addon = tryLoadAddon();
  if (addon instanceof Error) {
    console.log(`native record tests skipped: ${addon.message}`);
    return addon.message;
  }
  return null;
}

const problem = problemOf();

/** The recorder's scratch directories go under `tmp`, where recorderMounts(tmp) looks. */
let tmp = tmpdir();
function fbreplay(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, TMPDIR: tmp } });
}


function records(keep: string): DaemonRecord[] {
  return readFileSync(join(keep, "records.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as DaemonRecord);
}

/** The trace's backing table and chunks, whole (test captures are small). */
async function readTrace(path: string) {
  const reader = await openTrace(path);
  const backing: TraceBackingFile[] = [];
  const chunks: TraceChunk[] = [];
  for await (const item of reader.items()) {
    if (item.kind === "backing") backing.push(...item.files);
    else chunks.push(item.chunk);
  }
  const rows = chunks.flatMap((c) => Array.from({ length: c.length }, (_, i) => ({
    op: c.op[i], nodeid: c.nodeid[i], bref: c.bref[i], bid: c.bid![i], verdict: c.verdict![i],
  })));
  return { header: reader.header, backing, rows };
}

const opensOf = (rs: DaemonRecord[]) => rs.filter((r) => (r.op === "open" || r.op === "create") && r.error === 0);

describe.skipIf(problem !== null)("fbreplay record --daemon native (real kernel passthrough)", () => {
  let dir: string;
  let src: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "fbreplay-native-test-"));
    tmp = dir;
    src = join(dir, "src");
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, "a.txt"), "alpha\n");
    writeFileSync(join(src, "b.txt"), "beta\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Records `script` (sh -c, in the mount) with the native daemon; skips the test when passthrough was not taken. */
  async function recordNative(name: string, options: string[], script: string, ctx: TestContext) {
    const keep = join(dir, `keep-${name}`);
    const out = join(dir, `${name}.fbt`);
    const r = fbreplay(["record", "--daemon", "native", "--src", src, "--keep", keep, ...options, "-o", out, "--", "sh", "-c", script]);
    expect(r.status, r.stderr).toBe(0);
    expect(recorderMounts(dir)).toEqual([]);
    const trace = await readTrace(out);
    if (trace.header.source.passthrough !== true) {
      console.log(`native record test ${name} skipped: the kernel did not take FUSE_PASSTHROUGH (${r.stderr.trim()})`);
      ctx.skip();
    }
    return { r, keep, out, trace };
  }

  it("puts every open of a real workload in the trace with its backing identity and the daemon's id", async (ctx) => {
    const { keep, trace } = await recordNative("workload", [],
      "cat a.txt >/dev/null && cp a.txt c.txt && sqlite3 db.sqlite 'create table t(x); insert into t values (1);' && cat c.txt b.txt >/dev/null", ctx);
    const opens = opensOf(records(keep));
    const rows = trace.rows.filter((x) => x.op === OP_OPEN);
    expect(rows.length).toBe(opens.length);
    // From the kernel capture (the default where BPF runs), ids are the kernel's less the ids taken before it started
    // (the daemon's startup probe): the header says by how much.
    const fromKernel = trace.header.source.format === "fbreplay-capture";
    const offset = Number(trace.header.source.backing_id_offset ?? 0);
    expect(opens.map((o) => o.path)).toEqual(expect.arrayContaining(["a.txt", "c.txt", "b.txt", "db.sqlite"]));
    rows.forEach((row, k) => {
      const o = opens[k];
      const file = trace.backing[row.bref];
      expect({ dev: file.dev, ino: file.ino, digest: Buffer.from(file.digest).toString("hex") }, o.path)
        .toEqual({ dev: o.dev, ino: o.ino, digest: o.sha256 });
      expect(row.bid + offset).toBe(o.backing_id);
      expect(row.bid).toBeGreaterThan(0);
      expect(row.verdict).toBe(VERDICT_ACCEPTED);
    });
    // Every registration the daemon made is a row, with the id the kernel returned (the startup probe's first, unless
    // the capture started after it).
    const registered = records(keep).filter((x) => x.op === "backing_open" && x.error === 0 && !(fromKernel && x.via === "probe")).map((x) => x.backing_id);
    expect(trace.rows.filter((x) => x.op === OP_BACKING_OPEN).map((x) => x.bid + offset)).toEqual(registered);
  });

  it("restarts the daemon while a file is held open: the kernel refuses, and the recorded ids reproduce it", async (ctx) => {
    // Open 1 creates x.txt, open 2 holds it on fd 3, the daemon restarts before open 3: a new id for the same inode.
    const { r, out, trace } = await recordNative("restart", ["--restart-before-open", "3"],
      "echo x > x.txt; exec 3<x.txt; cat x.txt || echo refused; exec 3<&-; cat x.txt", ctx);
    expect(r.stderr).toMatch(/cat: x\.txt: Input\/output error/);
    // The other witness: the workload's own strace shows the one open the kernel refused.
    expect(r.stderr).toMatch(/1 refused by the kernel, .*; the workload saw 1 opens fail with EIO$/m);
    expect(r.stderr).not.toMatch(/warning/);
    const refused = trace.rows.filter((x) => x.op === OP_OPEN && x.verdict === VERDICT_REFUSED);
    expect(refused.length).toBe(1);
    // The refused open carries the restarted daemon's new id; the held file's id was the old one.
    const xs = trace.rows.filter((x) => x.op === OP_OPEN);
    expect(refused[0].bid).not.toBe(xs[1].bid);

    const replay = fbreplay(["replay", out, "--ids", "recorded", "--policy", "ptr,inode", "--json"]);
    expect(replay.status, replay.stderr).toBe(0);
    const report = JSON.parse(replay.stdout);
    expect(report.policies.ptr).toMatchObject({ eio: 1, ebusy: 1, anomalies: 0, anomaly_recorded_id: 0 });
    expect(report.policies.inode).toMatchObject({ eio: 0, anomalies: 0 }); // the relaxed check would accept it

    const oracle = fbreplay(["oracle", out, "--json"]);
    expect(oracle.status, oracle.stdout + oracle.stderr).toBe(0);
    const o = JSON.parse(oracle.stdout);
    for (const run of o.runs) expect(run, run.daemon).toMatchObject({ compared: xs.length, agree: xs.length, kernel_refused: 1, model_refused: 1, mismatches: [] });
    expect(o.runs.map((x: { daemon: string }) => x.daemon)).toEqual(["recorded", "per-inode"]);
  });

  it("a restart before open K in record and in replay lands before the same open of the same workload", async (ctx) => {
    const script = "echo x > x.txt; exec 3<x.txt; cat x.txt || echo refused; exec 3<&-; cat x.txt";
    // The old spelling still works for one release, with a line saying the new one (same meaning in record).
    const live = await recordNative("restart-live", ["--restart-at", "3"], script, ctx);
    expect(live.r.stderr).toMatch(/^fbreplay: record --restart-at is deprecated and goes in the next release: use --restart-before-open$/m);
    const plain = await recordNative("restart-none", [], script, ctx);
    // In the recorded trace the daemon's restart comes after two opens, before the third.
    const ops = live.trace.rows.map((x) => x.op);
    expect(ops.filter((op) => op === OP_RESTART)).toHaveLength(1);
    expect(ops.slice(0, ops.indexOf(OP_RESTART)).filter((op) => op === OP_OPEN)).toHaveLength(2);
    expect(plain.trace.rows.some((x) => x.op === OP_RESTART)).toBe(false);
    // The model replays the live restart, and the injected one on the restart-free recording: the same counts.
    const counts = (...args: string[]) => {
      const r = fbreplay(["replay", ...args, "--ids", "per-inode", "--policy", "ptr,inode", "--json"]);
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as { policies: Record<string, Record<string, number>> };
      const keep = ["opens", "accepted", "ebusy", "eio", "anomalies"];
      return Object.fromEntries(Object.entries(report.policies).map(([p, c]) => [p, Object.fromEntries(keep.map((k) => [k, c[k]]))]));
    };
    const recorded = counts(live.out);
    expect(recorded.ptr).toMatchObject({ eio: 1, anomalies: 0 }); // the open the kernel refused
    expect(counts(plain.out, "--restart-before-open", "3")).toEqual(recorded);
    // One open earlier or later, the held file is not in the way: no refusal. So the point is the same, not near.
    for (const k of ["2", "4"]) expect(counts(plain.out, "--restart-before-open", k).ptr.eio).toBe(0);
  });

  it("a command that fails leaves no mount and no trace", () => {
    const out = join(dir, "fails.fbt");
    const r = fbreplay(["record", "--daemon", "native", "--src", src, "-o", out, "--", "sh", "-c", "cat a.txt >/dev/null; exit 3"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/exited with status 3/);
    expect(existsSync(out)).toBe(false);
    expect(recorderMounts(dir)).toEqual([]);
  });

  it("refuses injection with the recorded daemon, and bindfs-only options with native", () => {
    const r = fbreplay(["replay", "traces/atomic-edit.fbt", "--ids", "recorded", "--scale", "2"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--ids recorded replays a capture as it happened: --scale/);
    // A capture without ids (bindfs): one line and exit 2, not a table of 100% EIO.
    const none = fbreplay(["replay", "traces/c-build.fbt", "--ids", "recorded", "--json"]);
    expect(none.status).toBe(2);
    expect(none.stdout).toBe("");
    expect(none.stderr.trim().split("\n")).toEqual(["fbreplay: traces/c-build.fbt: the whole trace: it carries no recorded backing ids: --ids recorded replays captures of a passthrough daemon (record --daemon native or passthrough_hp, or ingest with passthrough_hp's log or --daemon-strace)"]);
    const s = fbreplay(["record", "--restart-every", "2", "-o", join(dir, "x.fbt"), "--", "true"]);
    expect(s.status).toBe(2);
    expect(s.stderr).toMatch(/--restart-every needs --daemon native/);
  });
});
