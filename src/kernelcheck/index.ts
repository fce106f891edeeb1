// `fbreplay kernel-check`: every policy checked against a real kernel that carries it. For each policy, its kernel
// (scripts/build-kernels.sh: Linux 6.12 + kernel/patches/<policy>.patch) boots under `fbreplay vm` and runs the
// guest half (guest.ts): the scenarios of spec §d for real, and native captures of workloads with restarts and
// re-downloads. Here, on the host, the scenarios are compared with the model's scenario table (src/scenarios: the
// spec's table as the model computes it), and each workload open by open with the model replaying the capture under
// that policy (src/oracle: once with the ids the daemon used, once with its daemon model).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DAEMON_POLICIES, type DaemonPolicy } from "../fuse/index.js";
import { runOracle, type OracleMismatch } from "../oracle/index.js";
import type { Policy } from "../engine.js";
import { runScenarios, type ScenarioCell } from "../scenarios/index.js";
import { openTrace } from "../trace/index.js";
import { REPO_ROOT, kernelDescription, runVm, VmError } from "../vm/index.js";
import type { GuestResult } from "./guest.js";

/** The policies with a kernel of their own (kernel/patches/<policy>.patch): those fbreplay's daemon speaks. */
export const KERNEL_POLICIES: readonly DaemonPolicy[] = DAEMON_POLICIES;

export interface ScenarioCheck {
  kernel: "ok" | "EIO";
  stale: boolean;
  /** The model's cell (src/scenarios) under the policy compared with. */
  model: ScenarioCell;
  agree: boolean;
}

export interface WorkloadCheck {
  /** Opens with a kernel verdict, compared with the model replaying the recorded ids. */
  compared: number;
  kernel_refused: number;
  /** Opens the kernel and the model judged differently (both model runs), plus rows the model could not replay. */
  mismatches: number;
  /** The workload's own count of opens failing with EIO (its strace), against the capture's refusals. */
  workload_eio: number | null;
  /** One line per mismatch, with the events before it on the same nodeid. */
  details: string[];
}

export interface PolicyCheck {
  kernel: string;
  uname: string;
  /** The kernel takes server-chosen 64-bit backing ids (the ptr guest kernel): the stable-id scenarios played. */
  ids64: boolean;
  /** The policy whose model the kernel was compared with (itself, unless --model-as says otherwise). */
  model: Policy;
  scenarios: Record<string, ScenarioCheck>;
  workloads: Record<string, WorkloadCheck>;
  mismatches: number;
  elapsed_s: number;
}

export type KernelCheckReport = Record<string, PolicyCheck>;

export interface KernelCheckOptions {
  policies: readonly DaemonPolicy[];
  /** Compare a policy's kernel with another policy's model (to show that a wrong model fails). */
  modelAs?: Partial<Record<DaemonPolicy, Policy>>;
  /** Seconds per guest (default 900). */
  timeoutS?: number;
  /** Keep each guest's out directory (traces, console) under this directory. */
  keep?: string;
  /** Compare the guest results kept earlier in this directory (by `keep`) instead of booting the kernels. */
  from?: string;
  log?: (line: string) => void;
  /** The guests' progress as it comes (default: this process's stderr). */
  guestLog?: (text: string) => void;
}

/** The guests run side by side (each is a qemu process: TCG threads, 1 GiB), the report in the policies' order. */
export async function kernelCheck(o: KernelCheckOptions): Promise<KernelCheckReport> {
  // Every guest ends before a failure is reported: none is left running behind it.
  const settled = await Promise.allSettled(o.policies.map((policy) => checkPolicy(policy, o)));
  const failed = settled.find((s) => s.status === "rejected");
  if (failed !== undefined) throw failed.reason;
  return Object.fromEntries(o.policies.map((policy, i) => [policy, (settled[i] as PromiseFulfilledResult<PolicyCheck>).value]));
}

async function checkPolicy(policy: DaemonPolicy, o: KernelCheckOptions): Promise<PolicyCheck> {
  const model = o.modelAs?.[policy] ?? policy;
  const kept = o.from ?? o.keep;
  const outDir = kept !== undefined ? join(kept, policy) : mkdtempSync(join(tmpdir(), `fbreplay-kernel-check-${policy}-`));
  if (o.from === undefined) mkdirSync(outDir, { recursive: true });
  try {
    let elapsedMs = 0;
    if (o.from === undefined) {
      o.log?.(`${policy}: booting ${kernelDescription(policy)}`);
      const run = await runVm({
        policy, outDir, timeoutS: o.timeoutS ?? 900, cwd: REPO_ROOT,
        command: [process.execPath, join(REPO_ROOT, "dist/cli/bin.js"), "kernel-check", "--in-guest", "--policy", policy],
        onStderr: (t) => (o.guestLog ?? ((x: string) => process.stderr.write(x)))(t),
      });
      if (run.exitCode !== 0) throw new VmError(`${policy} guest: kernel-check --in-guest exited with status ${run.exitCode} (out: ${outDir})`);
      elapsedMs = run.elapsedMs;
    }
    const resultFile = join(outDir, "result.json");
    if (!existsSync(resultFile)) throw new VmError(`${resultFile}: no guest result (run kernel-check --keep ${kept} first)`);
    const guest = JSON.parse(readFileSync(resultFile, "utf8")) as GuestResult;
    if (guest.policy !== policy) throw new VmError(`${resultFile}: a result of the ${guest.policy} kernel, not ${policy}`);
    const check: PolicyCheck = {
      kernel: kernelDescription(policy), uname: guest.uname, ids64: guest.ids64 === true, model, scenarios: {}, workloads: {}, mismatches: 0,
      elapsed_s: Math.round(elapsedMs / 100) / 10,
    };
    const table = runScenarios("js", [model]).table;
    for (const [name, k] of Object.entries(guest.scenarios)) {
      const cell = table[name][model];
      const agree = cell.result === k.kernel && cell.stale === k.stale;
      check.scenarios[name] = { kernel: k.kernel, stale: k.stale, model: cell, agree };
      if (!agree) check.mismatches++;
    }
    for (const w of guest.workloads) {
      const oracle = await runOracle(await openTrace(join(outDir, w.trace)), model);
      const [recorded] = oracle.runs;
      const details: string[] = [];
      let mismatches = 0;
      for (const r of oracle.runs) {
        mismatches += r.mismatches.length + r.anomalies;
        for (const m of r.mismatches) details.push(describe(r.daemon, m));
        if (r.anomalies > 0) details.push(`${r.daemon}: ${r.anomalies} rows the model could not replay`);
      }
      if (w.workload_eio !== null && w.workload_eio !== recorded.kernel_refused) {
        mismatches++;
        details.push(`the workload saw ${w.workload_eio} opens fail with EIO, the capture says the kernel refused ${recorded.kernel_refused}`);
      }
      if (w.exit_code !== 0) {
        mismatches++;
        details.push(`the workload exited with status ${w.exit_code}`);
      }
      check.workloads[w.name] = { compared: recorded.compared, kernel_refused: recorded.kernel_refused, mismatches, workload_eio: w.workload_eio, details };
      check.mismatches += mismatches;
    }
    return check;
  } finally {
    if (kept === undefined) rmSync(outDir, { recursive: true, force: true });
  }
}

function describe(daemon: string, m: OracleMismatch): string {
  const ids = daemon === "recorded" ? "recorded ids" : `${daemon} daemon model`;
  return `${ids}: event ${m.event}: nodeid ${m.nodeid} backing id ${m.backing_id}: kernel ${m.kernel}, model ${m.model}` +
    (m.context.length ? ` (before: ${m.context.join("; ")})` : "");
}

/** Mismatch lines printed per workload (a wrong model disagrees on most opens). */
const DETAILS_SHOWN = 6;

const cellText = (result: string, stale: boolean, unsafe = false) =>
  result === "ok" ? ["ok", unsafe ? "unsafe" : "", stale ? "stale" : ""].filter(Boolean).join(" ") : result;

export function formatKernelCheck(report: KernelCheckReport): string {
  const lines: string[] = [];
  for (const [policy, c] of Object.entries(report)) {
    lines.push(`${policy}: ${c.kernel} (guest uname ${c.uname}${c.ids64 ? ", server-chosen 64-bit ids" : ""}, ${c.elapsed_s} s)` +
      `${c.model !== policy ? `, compared with the ${c.model} model` : ""}`);
    lines.push(`  scenario  kernel          model`);
    for (const [name, s] of Object.entries(c.scenarios)) {
      const model = s.model.result === "ok" ? cellText("ok", s.model.stale, s.model.unsafe) : `${s.model.internal}→EIO`;
      lines.push(`  ${name.padEnd(8)}  ${cellText(s.kernel, s.stale).padEnd(14)}  ${model.padEnd(14)}${s.agree ? "" : "  MISMATCH"}`);
    }
    for (const [name, w] of Object.entries(c.workloads)) {
      lines.push(`  workload ${name}: ${w.compared} opens compared, kernel refused ${w.kernel_refused}` +
        `${w.workload_eio === null ? "" : ` (workload saw ${w.workload_eio} EIO)`}, ${w.mismatches} mismatches`);
      for (const d of w.details.slice(0, DETAILS_SHOWN)) lines.push(`    ${d}`);
      if (w.details.length > DETAILS_SHOWN) lines.push(`    … and ${w.details.length - DETAILS_SHOWN} more (--json has them all)`);
    }
    lines.push(`  ${c.mismatches === 0 ? "agrees with the model" : `${c.mismatches} MISMATCHES`}`);
  }
  return lines.join("\n");
}
