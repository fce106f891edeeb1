// `capture --workload-strace`: each open's verdict from the workload's own strace, the witness the native recorder
// keeps, instead of the BPF program's sys_exit record; the two are compared, so that either one's pairing of a FUSE
// request with the syscall that sent it is checked by the other.
//
// The pairing here uses no BPF state: a request's OPEN/CREATE is sent by the opener's thread inside its open(2)
// (spec §b.3: the kernel checks the reply in the opener's context, and the syscall's return is the verdict), so the
// strace call of that thread (`strace -f`: its tid) whose time span holds the request's send time is the one. The
// capture stamps with CLOCK_MONOTONIC, strace -ttt with CLOCK_REALTIME: the loader's READY and DONE records carry
// both clocks, and a send time is mapped between them (linearly, so that a clock slewed meanwhile still maps).
import { readFileSync, realpathSync, statSync } from "node:fs";
import { constants } from "node:os";
import { FUSE, KIND, kernelDev } from "./layout.js";
import { captureRecords } from "../ingest/capture.js";
import { readLines } from "../ingest/lines.js";
import { Resumptions, resolvePath, splitArgs, splitStraceLine, stringText } from "../ingest/strace-syntax.js";
import type { RecordSource } from "../ingest/native.js";
import type { DaemonRecord } from "../fuse/records.js";

/** The strace that runs `-- CMD` (open calls only, filtered in the kernel: the workload keeps its speed). */
export function straceArgv(output: string, command: string[]): string[] {
  return ["strace", "-f", "-ttt", "-T", "-y", "--seccomp-bpf", "-e", "trace=open,openat,openat2,creat", "-o", output, "--", ...command];
}

/**
 * A send this far (ns) from every call of its thread has no call: its verdict stays BPF's. On this machine every send
 * of a parallel workload fell inside its call's span (strace's µs), so the slack only covers strace's rounding.
 */
const TOLERANCE_NS = 200_000;

interface Call {
  /** CLOCK_REALTIME ns: strace's time at the call's entry, and at its return. */
  start: number;
  end: number;
  /** The return value: >= 0 (the fd) or -errno. */
  ret: number;
  taken: boolean;
}

export interface StraceVerdictStats {
  /** Opens whose verdict is the workload's strace's. */
  fromStrace: number;
  /** Opens sent by no strace call (another process than the workload, or a call strace did not see): BPF's verdict. */
  fromBpf: number;
  /** Opens whose strace verdict differs from BPF's (each is said). */
  disagree: number;
  /** The opens of `disagree`, as `unique: strace's return vs BPF's`. */
  disagreements: string[];
}

const CALL = /^(open|openat|openat2|creat)\((.*)\) += (-?\d+)(?:<.*?>)?(?: (E[A-Z0-9]+) \(.*\))? <(\d+\.\d+)>$/;

/** The mount point (in /proc/self/mountinfo) of the file system `dir` is on. */
function mountRoot(dir: string): string {
  const dev = kernelDev(statSync(dir, { bigint: true }).dev);
  const [major, minor] = [dev >>> 20, dev & 0xfffff];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const f = line.split(" ");
    if (f[2] === `${major}:${minor}`) return f[4].replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  }
  return realpathSync(dir);
}

/** The path a call opens, when strace shows it in full (openat's dirfd decorated by -y, or an absolute name). */
function pathOf(name: string, args: string[]): string | null {
  const first = stringText(args[0] ?? "");
  if (first !== null) return first.startsWith("/") ? first : null; // open, creat: relative to a cwd strace does not show
  const dir = /^[^<]*<(.*)>$/.exec(args[0] ?? "")?.[1];
  const file = stringText(args[1] ?? "");
  if (file === null) return null;
  if (file.startsWith("/")) return file;
  return dir === undefined || name === "open" ? null : resolvePath(dir, file);
}

/** The workload's open calls on the mount (or maybe on it), by thread, in time order (the log read as a stream). */
async function readCalls(path: string, root: string): Promise<Map<number, Call[]>> {
  const calls = new Map<number, Call[]>();
  const resumptions = new Resumptions();
  const started = new Map<number, number>();
  for await (const line of readLines(path)) {
    const { pid, time, body } = splitStraceLine(line);
    if (time === undefined) continue;
    const t = Math.round(Number(time) * 1e6) * 1000;
    const whole = resumptions.join(pid, body);
    if (whole === null) {
      started.set(pid, t);
      continue;
    }
    if (whole instanceof Error) continue;
    const m = CALL.exec(whole);
    if (!m) continue;
    const opened = pathOf(m[1], splitArgs(m[2]));
    if (opened !== null && root !== "/" && opened !== root && !opened.startsWith(`${root}/`)) continue;
    const start = body === whole ? t : (started.get(pid) ?? t);
    const ret = Number(m[3]) >= 0 ? Number(m[3]) : -((constants.errno as Record<string, number>)[m[4] ?? ""] ?? 1);
    let list = calls.get(pid);
    if (list === undefined) calls.set(pid, (list = []));
    list.push({ start, end: start + Math.round(Number(m[5]) * 1e9), ret, taken: false });
  }
  for (const list of calls.values()) list.sort((a, b) => a.start - b.start);
  return calls;
}

/** The distance (ns) from `t` to a call's span. */
function distance(c: Call, t: number): number {
  return t < c.start ? c.start - t : t > c.end ? t - c.end : 0;
}

/**
 * Each captured OPEN/CREATE's verdict by the workload's strace (its syscall's return: >= 0 accepted, -errno), by
 * unique, and how it compares with BPF's.
 */
export async function straceVerdicts(recordsBin: string, strace: string, mount: string): Promise<{ verdicts: Map<number, number>; stats: StraceVerdictStats }> {
  const calls = await readCalls(strace, mountRoot(mount));
  const sends: { unique: number; tid: number; t: number }[] = [];
  const bpf = new Map<number, number>();
  const anchors: { mono: number; real: number }[] = [];
  for (const r of captureRecords(recordsBin)) {
    if ((r.kind === KIND.READY || r.kind === KIND.DONE) && r.generation > 0) anchors.push({ mono: r.t_ns, real: r.generation });
    else if (r.kind === KIND.SEND && (r.opcode === FUSE.OPEN || r.opcode === FUSE.CREATE)) sends.push({ unique: r.unique, tid: r.pid, t: r.t_ns });
    else if (r.kind === KIND.VERDICT) bpf.set(r.unique, r.error);
  }
  const [a, b] = [anchors[0], anchors[anchors.length - 1]];
  const rate = a === undefined || b === undefined || b.mono === a.mono ? 1 : (b.real - a.real) / (b.mono - a.mono);
  const real = (mono: number) => (a === undefined ? mono : a.real + (mono - a.mono) * rate);
  const verdicts = new Map<number, number>();
  const stats: StraceVerdictStats = { fromStrace: 0, fromBpf: 0, disagree: 0, disagreements: [] };
  for (const s of sends) {
    const t = real(s.t);
    let best: Call | undefined;
    for (const c of calls.get(s.tid) ?? []) {
      if (c.taken || c.start - t > TOLERANCE_NS) continue;
      if (distance(c, t) <= TOLERANCE_NS && (best === undefined || distance(c, t) < distance(best, t))) best = c;
    }
    if (best === undefined) {
      stats.fromBpf++;
      continue;
    }
    best.taken = true;
    stats.fromStrace++;
    verdicts.set(s.unique, best.ret);
    const other = bpf.get(s.unique);
    if (other !== undefined && Math.min(other, 0) !== Math.min(best.ret, 0)) {
      stats.disagree++;
      stats.disagreements.push(`${s.unique}: ${best.ret} vs ${other}`);
    }
  }
  return { verdicts, stats };
}

/**
 * The capture's daemon records with each open's verdict the strace's where it has one: a verdict record right after
 * the open, which the trace writer takes over BPF's (the first verdict of an open counts).
 */
export function withStraceVerdicts(records: RecordSource, verdicts: ReadonlyMap<number, number>): RecordSource {
  return function* () {
    let seq = 0;
    for (const r of records()) {
      yield { ...r, seq: seq++ };
      if ((r.op === "open" || r.op === "create") && r.error === 0 && verdicts.has(r.unique)) {
        const v: DaemonRecord = { ...r, seq: seq++, op: "verdict", error: Math.min(verdicts.get(r.unique)!, 0) };
        yield v;
      }
    }
  };
}
