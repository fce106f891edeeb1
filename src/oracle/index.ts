// `fbreplay oracle`: the kernel as the oracle of the model. A native capture (record --daemon native) holds, for
// every open, the backing id the daemon answered with and what the kernel did with it. The reference model replays
// the capture under the mainline policy (ptr), once with the recorded ids and once with the daemon model that ran
// (and the same restarts), and every open's outcome is compared with the kernel's.
import { EBUSY, EINVAL, EIO, ENOENT, ETXTBSY, OP_OPEN } from "../abi.js";
import { ReferenceReplay } from "../model/index.js";
import { defaultMaxMemory, overBudget } from "../replay/budget.js";
import { DAEMONS, type DaemonModel, type Policy } from "../engine.js";
import type { TraceReader } from "../trace/index.js";
import { denseIds, type IdSource } from "../trace/dense.js";
import type { TraceChunk } from "../trace/types.js";
import { TraceError, VERDICT_ACCEPTED, VERDICT_REFUSED, VERDICT_UNKNOWN } from "../trace/types.js";

/** Rows of context printed with a mismatch: the latest events on the same nodeid before it. */
const CONTEXT_ROWS = 4;

export interface OracleMismatch {
  /** The open's event index in the trace. */
  event: number;
  nodeid: number;
  fh: number;
  backing_id: number;
  kernel: "accepted" | "refused";
  /** "accepted", or the internal error the model turned into the user's EIO. */
  model: string;
  /** The latest events on this nodeid before the open, oldest first. */
  context: string[];
}

export interface OracleRun {
  daemon: DaemonModel;
  /** Opens with a known kernel verdict, compared one by one. */
  compared: number;
  agree: number;
  kernel_refused: number;
  model_refused: number;
  mismatches: OracleMismatch[];
  /** Rows the model could not replay (a recorded id it does not reproduce, an fh in use, ...). */
  anomalies: number;
  /** Whether the trace has a verdict column at all. */
  verdicts: boolean;
}

export interface OracleReport {
  trace: string;
  /** The policy the model replayed under (the kernel's: ptr on mainline, else a kernel-check guest's). */
  policy: Policy;
  workload: string;
  daemon_model: string;
  /** Records a kernel-side capture lost (0: none; the trace is marked incomplete otherwise). */
  incomplete: number;
  runs: OracleRun[];
}

const ERRNO_NAMES: Record<number, string> = { [EBUSY]: "EBUSY", [ETXTBSY]: "ETXTBSY", [EINVAL]: "EINVAL", [ENOENT]: "ENOENT", [EIO]: "EIO" };
const OP_NAMES = ["?", "OPEN", "RELEASE", "FORGET", "LOOKUP", "RESTART", "BACKING_OPEN", "BACKING_CLOSE"];

/**
 * Any trace whose opens carry the kernel's verdicts: a native capture (record --daemon native) is also replayed
 * with the daemon model it ran; a kernel-side capture (capture) or another recorder's trace with the recorded ids
 * only, since no model of its daemon is known. `policy`: the model's (ptr: mainline; a kernel-check guest's policy).
 */
export async function runOracle(reader: TraceReader, policy: Policy = "ptr"): Promise<OracleReport> {
  const source = reader.header.source;
  let model: DaemonModel | null = null;
  if (source.daemon_model !== undefined) {
    // Any daemon behaviour the model knows, but not "recorded": the recorded ids are replayed anyway.
    const known = DAEMONS.filter((d) => d !== "recorded");
    model = known.find((d) => d === source.daemon_model) ?? null;
    if (model === null) {
      throw new TraceError(reader.path, "header", `source.daemon_model is ${JSON.stringify(source.daemon_model)}, expected one of ${known.join(", ")}`);
    }
  }
  const dense = await denseIds(reader);
  const sizes = { inodes: dense.footer.max_nodeid + 1, files: dense.footer.max_fh + 1, backingFiles: dense.footer.backing_files, policies: 2 };
  const tooBig = overBudget("js", sizes, defaultMaxMemory());
  if (tooBig !== undefined) throw new TraceError(reader.path, "the whole trace", tooBig);
  const runs = await oracleRuns(dense, model === null ? ["recorded"] : ["recorded", model], policy);
  // A capture's own format with no verdict (no open at all) compares nothing; any other trace without one is not
  // something the oracle can judge.
  if (runs[0].compared === 0 && !runs[0].verdicts && source.format !== "fbreplay-native" && source.format !== "fbreplay-capture") {
    throw new TraceError(reader.path, "the whole trace", `no open carries the kernel's verdict (source ${source.format}): capture, record --daemon native or a recorder with the kernel's verdicts makes such traces`);
  }
  const incomplete = source.complete === false ? Number(source.lost_records ?? 1) : 0;
  return { trace: reader.path, policy, workload: reader.header.workload, daemon_model: model ?? "recorded", incomplete, runs };
}

/** One pass over the trace, each chunk replayed under every daemon, each open compared with the kernel's verdict. */
async function oracleRuns(reader: IdSource, daemons: DaemonModel[], policy: Policy): Promise<OracleRun[]> {
  const sizes = { maxInodes: reader.footer.max_nodeid + 1, maxFiles: reader.footer.max_fh + 1 };
  const replays = daemons.map((daemon) => new ReferenceReplay([], { policy, daemon, ...sizes }));
  const runs: OracleRun[] = daemons.map((daemon) => ({ daemon, compared: 0, agree: 0, kernel_refused: 0, model_refused: 0, mismatches: [], anomalies: 0, verdicts: false }));
  const history = new Map<number, string[]>();
  let event = 0;
  for await (const item of reader.items()) {
    if (item.kind === "backing") {
      for (const r of replays) r.addBacking(item.files);
      continue;
    }
    const c = item.chunk;
    if (c.verdict !== undefined) for (const run of runs) run.verdicts = true;
    const results = replays.map((replay) => {
      const result = new Int32Array(c.length);
      replay.feed(c, result);
      return result;
    });
    for (let i = 0; i < c.length; i++, event++) {
      if (c.op[i] === OP_OPEN && c.verdict !== undefined && c.verdict[i] !== VERDICT_UNKNOWN) {
        runs.forEach((run, k) => compareOpen(run, c, i, results[k][i], event, history));
      }
      const h = history.get(c.nodeid[i]) ?? [];
      h.push(`#${event} ${OP_NAMES[c.op[i]] ?? `op ${c.op[i]}`} fh ${c.fh[i]} bid ${c.bid?.[i] ?? 0}`);
      if (h.length > CONTEXT_ROWS) h.shift();
      history.set(c.nodeid[i], h);
    }
  }
  replays.forEach((replay, k) => { runs[k].anomalies = replay.outcomes().anomalies; });
  return runs;
}

/** Row i of c, an open the kernel judged, against the model's result (0, or the -errno behind the user's EIO). */
function compareOpen(run: OracleRun, c: TraceChunk, i: number, result: number, event: number, history: Map<number, string[]>): void {
  const kernelRefused = c.verdict![i] === VERDICT_REFUSED;
  const modelRefused = result !== 0;
  run.compared++;
  if (kernelRefused) run.kernel_refused++;
  if (modelRefused) run.model_refused++;
  if (kernelRefused === modelRefused) {
    run.agree++;
    return;
  }
  run.mismatches.push({
    event, nodeid: c.nodeid[i], fh: c.fh[i], backing_id: c.bid?.[i] ?? 0,
    kernel: c.verdict![i] === VERDICT_ACCEPTED ? "accepted" : "refused",
    model: modelRefused ? (ERRNO_NAMES[-result] ?? `errno ${-result}`) : "accepted",
    context: [...(history.get(c.nodeid[i]) ?? [])],
  });
}

export function formatOracle(r: OracleReport): string {
  const how = r.daemon_model === "recorded" ? "kernel-side capture" : `captured with the ${r.daemon_model} daemon`;
  const lines = [`${r.trace}: ${r.workload} (${how}), policy ${r.policy}`];
  if (r.incomplete) lines.push(`  warning: the capture lost ${r.incomplete} records: the pairing of what follows a loss may be wrong`);
  for (const run of r.runs) {
    const ids = run.daemon === "recorded" ? "recorded ids" : `${run.daemon} daemon model`;
    lines.push(
      `  ${ids}: ${run.agree}/${run.compared} opens agree with the kernel ` +
      `(kernel refused ${run.kernel_refused}, model refused ${run.model_refused}), ${run.mismatches.length} mismatches, ${run.anomalies} anomalies`,
    );
    for (const m of run.mismatches) {
      lines.push(`    event ${m.event}: nodeid ${m.nodeid} fh ${m.fh} backing id ${m.backing_id}: kernel ${m.kernel}, model ${m.model}`);
      for (const c of m.context) lines.push(`      before: ${c}`);
    }
  }
  return lines.join("\n");
}
