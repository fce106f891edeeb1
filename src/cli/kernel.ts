// The commands that run on fbreplay's own kernels: `vm` and `kernel-check` (wired from main.ts).
import { parseArgs } from "node:util";
import { DAEMON_POLICIES, type DaemonPolicy } from "../fuse/index.js";
import { runGuest } from "../kernelcheck/guest.js";
import { KERNEL_POLICIES, formatKernelCheck, kernelCheck } from "../kernelcheck/index.js";
import { POLICIES, type Policy } from "../replay/types.js";
import { runVm, VmError } from "../vm/index.js";

/** An interrupted guest exits 130, as interrupted commands do; other VmErrors are failures (main: exit 1). */
async function interruptible(f: () => Promise<number>): Promise<number> {
  try {
    return await f();
  } catch (e) {
    if (!(e instanceof VmError && e.interrupted)) throw e;
    process.stderr.write(`fbreplay: interrupted: ${e.message}\n`);
    return 130;
  }
}

export const VM_HELP = `options of vm:  fbreplay vm --policy P [--timeout S] [--out DIR] [--kernel-cmdline ARGS] -- CMD ARGS...
  Boots the kernel that carries policy P (scripts/build-kernels.sh builds it: Linux 6.12 + kernel/patches/P.patch)
  under qemu (TCG), and runs CMD as root in the current directory. The guest sees the host's files read-only, has
  its own tmpfs on /tmp, /run and /var/tmp, and a writable share at $FBREPLAY_VM_OUT (/run/out): what CMD writes
  there is in DIR afterwards (default: a fresh temp directory, printed). CMD's stderr shows as it runs, its stdout
  at the end; the exit status is CMD's. --timeout (default 600 s) kills the guest; qemu never outlives the command,
  also on Ctrl-C. A guest that fails to boot is reported with the tail of its console (DIR/console.log).`;

export function vmCommand(args: string[]): Promise<number> {
  return interruptible(() => vm(args));
}

async function vm(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: {
      policy: { type: "string" }, timeout: { type: "string" }, out: { type: "string" },
      "kernel-cmdline": { type: "string" }, kvm: { type: "boolean", default: false },
    },
  });
  if (values.policy === undefined) throw new CliUsageError("vm needs --policy P (ptr, inode, reuse, ...)");
  const timeoutS = values.timeout === undefined ? 600 : Number(values.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new CliUsageError(`--timeout ${values.timeout}: expected a positive number of seconds`);
  const run = await runVm({
    policy: values.policy, command: positionals, timeoutS, outDir: values.out, cmdline: values["kernel-cmdline"], kvm: values.kvm,
  });
  process.stdout.write(run.stdout);
  process.stderr.write(`fbreplay vm: ${values.policy} guest: ${positionals[0]} exited with status ${run.exitCode} after ${(run.elapsedMs / 1000).toFixed(1)} s; out: ${run.outDir}\n`);
  return run.exitCode;
}

export const KERNEL_CHECK_HELP = `options of kernel-check:  fbreplay kernel-check [--policy P,...] [--json] [--keep DIR] [--timeout S]
  For each policy (default: ${KERNEL_POLICIES.join(",")}, the ones with a kernel of their own), boots its kernel (see vm)
  and, on fbreplay's own daemon with real passthrough inside, plays the scenarios S1–S5 of spec §d (F1 held open
  while the daemon restarts, re-downloads, replaces, rewrites; F2's open fails with EIO or not, and F2's bytes
  show a stale accept) and records workloads with restarts and re-downloads (sqlite-held, atomic-edit, parallel).
  Prints per policy the kernel, each scenario as the kernel gave it against the model's table, and per workload the
  opens compared one by one with the model replaying the capture (the oracle's comparison), kernel refusals and
  every mismatch with its context. Exit 1 on any mismatch.
  --json                 {"<policy>": {"kernel", "scenarios": {"S1": {"kernel": "ok"|"EIO", "stale", "model"}, ...},
                         "workloads": {"<name>": {"compared", "kernel_refused", "mismatches"}}}}
  --keep DIR             keep each guest's out directory (traces, console.log) in DIR/<policy>
  --from DIR             compare what an earlier --keep DIR run left, without booting (e.g. with --model-as)
  --model-as P=Q,...     compare P's kernel with Q's model: shows that a wrong model fails (e.g. inode=ptr)
  --timeout S            seconds per guest (default 900)`;

export function kernelCheckCommand(args: string[]): Promise<number> {
  return interruptible(() => check(args));
}

async function check(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args, strict: true,
    options: {
      policy: { type: "string" }, json: { type: "boolean", default: false }, keep: { type: "string" },
      "model-as": { type: "string" }, timeout: { type: "string" }, from: { type: "string" }, "in-guest": { type: "boolean", default: false },
    },
  });
  const policies = (values.policy?.split(",").map((s) => s.trim()).filter(Boolean) ?? [...KERNEL_POLICIES]) as DaemonPolicy[];
  for (const p of policies) {
    if (!DAEMON_POLICIES.includes(p)) {
      throw new CliUsageError(`kernel-check: no kernel for policy '${p}' (kernels: ${KERNEL_POLICIES.join(", ")}; lookup has no prototype patch yet)`);
    }
  }
  if (values["in-guest"]) {
    // The guest half, run by the host's kernel-check inside `fbreplay vm`: one policy, results in $FBREPLAY_VM_OUT.
    const out = process.env.FBREPLAY_VM_OUT;
    if (policies.length !== 1 || out === undefined) throw new CliUsageError("--in-guest runs inside `fbreplay vm` (FBREPLAY_VM_OUT set), for one --policy");
    const t0 = Date.now();
    const log = (line: string) => process.stderr.write(`  [guest ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);
    log(`${policies[0]}: started`);
    await runGuest(policies[0], out, log);
    log(`${policies[0]}: done`);
    return 0;
  }
  const modelAs: Partial<Record<DaemonPolicy, Policy>> = {};
  for (const pair of values["model-as"]?.split(",").filter(Boolean) ?? []) {
    const [k, v] = pair.split("=");
    if (!DAEMON_POLICIES.includes(k as DaemonPolicy) || !POLICIES.includes(v as Policy)) throw new CliUsageError(`--model-as ${pair}: expected KERNEL_POLICY=MODEL_POLICY, e.g. inode=ptr`);
    modelAs[k as DaemonPolicy] = v as Policy;
  }
  const timeoutS = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeoutS !== undefined && !(timeoutS > 0)) throw new CliUsageError(`--timeout ${values.timeout}: expected a positive number of seconds`);
  const report = await kernelCheck({ policies, modelAs, keep: values.keep, from: values.from, timeoutS, log: (l) => process.stderr.write(`kernel-check: ${l}\n`) });
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatKernelCheck(report)}\n`);
  return Object.values(report).every((c) => c.mismatches === 0) ? 0 : 1;
}

/** Bad usage (exit 2), as main's UsageError. */
export class CliUsageError extends Error {}
