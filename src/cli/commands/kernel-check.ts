// fbreplay kernel-check: every policy's scenarios and workloads on a kernel that carries it, against the model.
import { DAEMON_POLICIES, type DaemonPolicy } from "../../fuse/index.js";
import { POLICIES, type Policy } from "../../engine.js";
import { runGuest } from "../../kernelcheck/guest.js";
import { KERNEL_POLICIES, formatKernelCheck, kernelCheck } from "../../kernelcheck/index.js";
import type { Command } from "../command.js";
import { UsageError, parseNumber } from "../options.js";
import { guestFailures } from "./vm.js";

export const kernelCheckCommand: Command = {
  name: "kernel-check",
  usage: "kernel-check [--policy P,...] [--json] [--keep DIR] [--from DIR] [--model-as P=Q,...] [--timeout S]",
  summary: "every policy's scenarios and workloads on its own kernel, open by open against the model",
  options: {
    policy: { type: "string", value: "P,...", default: KERNEL_POLICIES.join(","), help: "the policies to check (those with a kernel/patches/P.patch)" },
    json: { type: "boolean", help: "{\"<policy>\": {kernel, scenarios: {S1: {kernel, stale, model}, ...}, workloads: {<name>: {compared, kernel_refused, mismatches}}}}" },
    keep: { type: "string", value: "DIR", default: "none: removed", help: "keep each guest's out directory (traces, console.log) in DIR/<policy>" },
    from: { type: "string", value: "DIR", default: "none: boot the guests", help: "compare what an earlier --keep DIR run left, without booting (e.g. with --model-as)" },
    "model-as": { type: "string", value: "P=Q,...", default: "none: each policy's own model", help: "compare P's kernel with Q's model: shows that a wrong model fails (e.g. inode=ptr)" },
    timeout: { type: "string", value: "S", default: 900, help: "seconds per guest" },
    "in-guest": { type: "boolean", help: "internal: the guest half, run by kernel-check inside `fbreplay vm`" },
  },
  notes: "Boots each policy's kernel (see vm; the guests run side by side) and, on fbreplay's own daemon with real\n" +
    "passthrough inside, plays the scenarios of spec §d (F1 held open while the daemon restarts, re-downloads,\n" +
    "replaces, rewrites; F2's open fails with EIO or not, and F2's bytes show a stale accept; S2s–S2s″ only where\n" +
    "the kernel has server-chosen 64-bit ids: ptr) and records workloads with restarts and re-downloads\n" +
    "(sqlite-held, atomic-edit, parallel, nodeid-held). Prints per policy the kernel, each scenario\n" +
    "as the kernel gave it against the model's table, and per workload the opens compared one by one with the model\n" +
    "replaying the capture (the oracle's comparison), kernel refusals and every mismatch with its context. Exit 1 on\n" +
    "any mismatch.",
  run({ values: v }) {
    return guestFailures(async () => {
      const policies = (v.policy as string | undefined ?? KERNEL_POLICIES.join(",")).split(",").map((s) => s.trim()).filter(Boolean) as DaemonPolicy[];
      for (const p of policies) {
        if (!DAEMON_POLICIES.includes(p)) throw new UsageError(`kernel-check: no kernel for policy '${p}' (kernels: ${KERNEL_POLICIES.join(", ")}; lookup has no prototype patch yet)`);
      }
      if (v["in-guest"]) {
        const out = process.env.FBREPLAY_VM_OUT;
        if (policies.length !== 1 || out === undefined) throw new UsageError("--in-guest runs inside `fbreplay vm` (FBREPLAY_VM_OUT set), for one --policy");
        const t0 = Date.now();
        const log = (line: string) => process.stderr.write(`  [guest ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);
        log(`${policies[0]}: started`);
        await runGuest(policies[0], out, log);
        log(`${policies[0]}: done`);
        return 0;
      }
      const modelAs: Partial<Record<DaemonPolicy, Policy>> = {};
      for (const pair of (v["model-as"] as string | undefined)?.split(",").filter(Boolean) ?? []) {
        const [k, m] = pair.split("=");
        if (!DAEMON_POLICIES.includes(k as DaemonPolicy) || !POLICIES.includes(m as Policy)) throw new UsageError(`--model-as ${pair}: expected KERNEL_POLICY=MODEL_POLICY, e.g. inode=ptr`);
        modelAs[k as DaemonPolicy] = m as Policy;
      }
      const timeoutS = parseNumber(v.timeout as string | undefined, "timeout", (n) => n > 0, "a positive number of seconds");
      const report = await kernelCheck({
        policies, modelAs, keep: v.keep as string | undefined, from: v.from as string | undefined, timeoutS,
        log: (l) => process.stderr.write(`kernel-check: ${l}\n`),
      });
      process.stdout.write(v.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatKernelCheck(report)}\n`);
      return Object.values(report).every((c) => c.mismatches === 0) ? 0 : 1;
    });
  },
};
