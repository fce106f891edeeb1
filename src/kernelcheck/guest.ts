// The guest half of `fbreplay kernel-check` (runs as root inside `fbreplay vm`, on the kernel of one policy): the
// scenarios of spec §d played for real on fbreplay's own daemon, and native captures of small workloads with
// restarts and re-downloads. Verdicts come from the workload: an open fails with EIO or it does not; after a
// successful open the scenario reads the bytes it got, so a stale accept (the kernel serving another file than the
// one the daemon named) is observed, not inferred. Everything lands in the out directory for the host to compare.
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import {
  LIVE_DAEMON_MODELS, STABLE_ID_MODELS, startDaemon, type DaemonIdModel, type DaemonPolicy, type LiveDaemonModel, type ScenarioAction,
} from "../fuse/index.js";
import { writeNativeCapture } from "../ingest/native.js";
import { failedOpens } from "../ingest/index.js";
import { recordNative, recordsOf } from "../record/native.js";
import { SCENARIOS } from "../scenarios/index.js";

/** What one scenario's F2 open did on the real kernel. */
export interface GuestScenario {
  kernel: "ok" | "EIO";
  /** F2 read other bytes than the file the daemon named holds. */
  stale: boolean;
}

export interface GuestWorkload {
  name: string;
  /** The trace file (in the out directory) and the workload's own count of opens failing with EIO (strace). */
  trace: string;
  workload_eio: number | null;
  exit_code: number;
}

export interface GuestResult {
  policy: DaemonPolicy;
  uname: string;
  /** The kernel takes server-chosen 64-bit backing ids (spec §i.2): the stable-id scenarios were played. */
  ids64: boolean;
  scenarios: Record<string, GuestScenario>;
  workloads: GuestWorkload[];
}

/**
 * How long a daemon may take to mount and answer INIT in a guest: a hang guard only. Four guests under TCG beside a
 * full `npm test` on a shared 2-core machine have taken more than two minutes for one mount; the guest's own timeout
 * (kernel-check --timeout, 15 minutes by default) still bounds the whole run.
 */
const MOUNT_TIMEOUT_MS = 600_000;

const SIZE = 8192;
const bytesOf = (fill: string) => Buffer.alloc(SIZE, fill);
/** A: the file F1 holds; A2: A rewritten in place; C: another file, other bytes. */
const A = bytesOf("A"), A2 = bytesOf("a"), C = bytesOf("C");

/**
 * What happens between F1's open and F2's: a daemon action (actions.ts), a restart, or a restart after which the
 * file is opened and closed once more (the restarted daemon's own last release of it).
 */
type Between = ScenarioAction | "restart" | "restart, open and close";

/** Each scenario of src/scenarios: what happens between F1's open and F2's, and what F2 should read. */
const PLAYS: Record<string, { between?: Between; expect: Buffer }> = {
  "S1": { expect: A },
  "S1′": { expect: A },
  "S2": { between: "restart", expect: A },
  "S3": { between: { kind: "redownload", path: "a" }, expect: A },
  "S4a": { between: { kind: "replace", path: "a", bytes: C.toString("base64") }, expect: C },
  "S4b": { between: { kind: "rewrite", path: "a", bytes: A2.toString("base64") }, expect: A2 },
  "S5": { between: { kind: "serve", path: "a", other: "c" }, expect: C },
  // The daemon now means C (the replaced file); a per-nodeid daemon answers with the nodeid's id, the old A.
  "S4n": { between: { kind: "replace", path: "a", bytes: C.toString("base64") }, expect: C },
  // Server-chosen 64-bit ids (spec §i.2): only on a kernel that has them (the ptr guest kernel).
  "S2s": { between: "restart", expect: A },
  "S2s′": { between: "restart, open and close", expect: A },
  "S2s″": { between: "restart, open and close", expect: A },
};

/** The daemon models the scenarios' daemons map to, on a kernel with (ids64) or without 64-bit ids. */
function runnable(ids64: boolean): readonly DaemonIdModel[] {
  return ids64 ? [...LIVE_DAEMON_MODELS, ...STABLE_ID_MODELS] : LIVE_DAEMON_MODELS;
}

/**
 * The scenarios fbreplay's daemon can play for real: those of the daemon models it runs (LIVE_DAEMON_MODELS), and on
 * a kernel with server-chosen 64-bit ids (`ids64`; spec §i.2: our ptr guest kernel) the stable-id rows too.
 */
export function playableScenarios(ids64 = false): string[] {
  return SCENARIOS.filter((s) => s.name in PLAYS && runnable(ids64).some((m) => m === s.daemon)).map((s) => s.name);
}

/** Whether this kernel takes server-chosen 64-bit backing ids: a daemon's INIT probe says (src/fuse/ids64.ts). */
export async function kernelHasIds64(work: string): Promise<boolean> {
  const dir = join(work, "probe-ids64");
  mkdirSync(join(dir, "src"), { recursive: true });
  const daemon = await startDaemon({ source: join(dir, "src"), mountpoint: join(dir, "mnt"), digest: false, timeoutMs: MOUNT_TIMEOUT_MS });
  await daemon.stop();
  rmSync(dir, { recursive: true, force: true });
  return daemon.status.ids64;
}

export async function playScenario(name: string, policy: DaemonPolicy, work: string): Promise<GuestScenario> {
  const s = SCENARIOS.find((x) => x.name === name)!;
  const play = PLAYS[name];
  const dir = join(work, `scenario-${name}`);
  const source = join(dir, "src");
  mkdirSync(source, { recursive: true });
  writeFileSync(join(source, "a"), A);
  writeFileSync(join(source, "c"), C);
  // Long cache lifetimes: F2's open must reach the same fuse inode as F1's, whatever happened to the backing file.
  const model = runnable(true).find((m) => m === s.daemon);
  if (model === undefined) throw new Error(`${name}: fbreplay's daemon runs ${runnable(true).join(", ")} ids, not ${s.daemon}`);
  const daemon = await startDaemon({
    source, mountpoint: join(dir, "mnt"), model, policy, entryTimeout: 3600, attrTimeout: 3600, digest: false, timeoutMs: MOUNT_TIMEOUT_MS,
  });
  const fds: number[] = [];
  try {
    if (!daemon.status.passthrough) throw new Error(`no passthrough on this kernel: ${daemon.status.reason}`);
    const path = join(daemon.mountpoint, "a");
    fds.push(openSync(path, "r+")); // F1, a writer: a second page cache would be unsafe
    if (play.between === "restart" || play.between === "restart, open and close") await daemon.restart({ closeIds: false });
    if (play.between === "restart, open and close") {
      closeSync(openSync(path, "r"));
      await daemon.settle(); // close(2) returns before the kernel sends RELEASE
    } else if (play.between !== undefined && play.between !== "restart") await daemon.action(play.between);
    let f2: number;
    try {
      f2 = openSync(path, "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EIO") return { kernel: "EIO", stale: false };
      throw e;
    }
    fds.push(f2);
    const got = Buffer.alloc(SIZE * 2);
    let n = 0;
    for (let k; (k = readSync(f2, got, n, got.length - n, n)) > 0;) n += k;
    return { kernel: "ok", stale: !got.subarray(0, n).equals(play.expect) };
  } finally {
    for (const fd of fds.reverse()) closeSync(fd);
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The workloads: a held sqlite database, atomic edits with a viewer, parallel readers; each with restarts. */
interface WorkloadPlan {
  name: string;
  prepare: (src: string) => void;
  command: string;
  model: LiveDaemonModel;
  restartEvery: number;
  closeIds: boolean;
  redownloadEvery: number;
}

const WORKLOADS: WorkloadPlan[] = [
  {
    name: "sqlite-held",
    prepare: () => {},
    command: "sqlite3 db 'PRAGMA journal_mode=DELETE; CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);' && exec 3<db && " +
      "for i in $(seq 1 25); do sqlite3 db \"BEGIN; INSERT INTO t(v) VALUES(hex(randomblob(64))); COMMIT;\" 2>/dev/null || echo refused; done | sort | uniq -c",
    model: "per-inode", restartEvery: 10, closeIds: true, redownloadEvery: 30,
  },
  {
    name: "atomic-edit",
    prepare: (src) => { for (let i = 0; i < 6; i++) writeFileSync(join(src, `note${i}.md`), `# note ${i}\n${"line\n".repeat(40 + i)}`); },
    // A viewer holds note0 and reads it again every round; the editor saves notes 1–5 through a temp file. The
    // OPEN requests go note0 (held), then per round $n, $n.tmp (>>), note0: every 7th re-downloads note0 at times.
    command: "exec 3<note0.md; for i in $(seq 1 15); do n=note$((1 + i % 5)).md; " +
      "{ cat $n > $n.tmp && echo edit $i >> $n.tmp && mv $n.tmp $n; } 2>/dev/null || echo refused; cat note0.md > /dev/null 2>&1 || echo refused; done | sort | uniq -c",
    model: "per-open", restartEvery: 20, closeIds: false, redownloadEvery: 7,
  },
  {
    name: "parallel",
    prepare: (src) => { for (let i = 0; i < 3; i++) writeFileSync(join(src, `f${i}`), Buffer.alloc(4096 * (i + 1), 48 + i)); },
    command: "exec 3<f0; for j in 1 2 3; do (for i in $(seq 1 8); do cat f$(( (i + j) % 3 )) > /dev/null 2>&1 || echo refused; done) & done; wait",
    // No re-downloads and no closing restarts here: closing an id another process's open may still be completing
    // with (the kernel takes the id after the reply, in the opener's task) is a race the capture cannot order.
    model: "per-inode", restartEvery: 8, closeIds: false, redownloadEvery: 0,
  },
  {
    name: "nodeid-held",
    prepare: (src) => { writeFileSync(join(src, "lib.so"), Buffer.alloc(16384, 7)); writeFileSync(join(src, "conf"), "x=1\n"); },
    // mergerfs (per-nodeid, spec §i.4): a library held on fd 3 while its branch copy is re-downloaded under the nodeid
    // (every 4th OPEN), readers opening it and a config file; one restart halfway. The nodeid keeps its id across the
    // re-downloads until the restart, after which the new daemon's id for the held file is a second object.
    command: "exec 3<lib.so; for i in $(seq 1 14); do cat lib.so > /dev/null 2>&1 || echo refused; cat conf > /dev/null 2>&1 || echo refused; done | sort | uniq -c",
    model: "per-nodeid", restartEvery: 16, closeIds: false, redownloadEvery: 4,
  },
];

async function runWorkload(w: WorkloadPlan, policy: DaemonPolicy, work: string, out: string): Promise<GuestWorkload> {
  const prepared = join(work, `prepared-${w.name}`);
  mkdirSync(prepared, { recursive: true });
  w.prepare(prepared);
  const capture = await recordNative({
    src: prepared, command: ["sh", "-c", w.command], workDir: join(work, `workload-${w.name}`), model: w.model, policy,
    restartEvery: w.restartEvery, restartCloseIds: w.closeIds, redownloadEvery: w.redownloadEvery || undefined,
    timeoutMs: MOUNT_TIMEOUT_MS,
  });
  const trace = `${w.name}.fbt`;
  await writeNativeCapture(recordsOf(capture.records), join(out, trace), {
    source: {
      format: "fbreplay-native", daemon_model: w.model, passthrough: capture.status.passthrough, policy,
      restarts: `--restart-every ${w.restartEvery}${w.closeIds ? " --close-ids" : ""}`, redownload_every: w.redownloadEvery, kernel_proto: capture.status.proto,
    },
    workload: w.command, host_kernel: release(),
    recorder: { name: "fbreplay kernel-check (guest, native daemon)", version: "" },
  });
  const eio = capture.workloadStrace === null ? null : ((await failedOpens(capture.workloadStrace)).EIO ?? 0);
  rmSync(capture.workDir, { recursive: true, force: true });
  rmSync(prepared, { recursive: true, force: true });
  if (!capture.status.passthrough) throw new Error(`no passthrough on this kernel: ${capture.status.reason}`);
  return { name: w.name, trace, workload_eio: eio, exit_code: capture.exitCode };
}

/** Runs everything, writing result.json (and the traces) to `out`. */
export async function runGuest(policy: DaemonPolicy, out: string, log: (line: string) => void): Promise<GuestResult> {
  const work = join(process.env.TMPDIR ?? "/tmp", "fbreplay-kernel-check");
  mkdirSync(work, { recursive: true });
  const ids64 = await kernelHasIds64(work);
  const result: GuestResult = { policy, uname: release(), ids64, scenarios: {}, workloads: [] };
  log(`${policy}: ${ids64 ? "" : "no "}server-chosen 64-bit backing ids on this kernel`);
  for (const name of playableScenarios(ids64)) {
    const s = { name };
    result.scenarios[s.name] = await playScenario(s.name, policy, work);
    log(`${policy}: ${s.name} ${result.scenarios[s.name].kernel}${result.scenarios[s.name].stale ? " stale" : ""}`);
  }
  for (const w of WORKLOADS) {
    const r = await runWorkload(w, policy, work, out);
    result.workloads.push(r);
    log(`${policy}: workload ${w.name} done (exit ${r.exit_code}, ${r.workload_eio ?? "?"} opens failed with EIO)`);
  }
  writeFileSync(join(out, "result.json"), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
