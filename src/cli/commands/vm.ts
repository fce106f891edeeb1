// fbreplay vm: a command on the kernel that carries a policy (Linux 6.12 + kernel/patches/<policy>.patch), under qemu.
import { runVm, VmError } from "../../vm/index.js";
import type { Command } from "../command.js";
import { UsageError, parseNumber } from "../options.js";

/** A guest that fails says so in one line (exit 1); an interrupted one exits 130, as interrupted commands do. */
export async function guestFailures(f: () => Promise<number>): Promise<number> {
  try {
    return await f();
  } catch (e) {
    if (!(e instanceof VmError)) throw e;
    process.stderr.write(`fbreplay: ${e.interrupted ? "interrupted: " : ""}${e.message}\n`);
    return e.interrupted ? 130 : 1;
  }
}

export const vm: Command = {
  name: "vm",
  usage: "vm --policy P [--timeout S] [--out DIR] [--kernel-cmdline ARGS] -- CMD ARGS...",
  summary: "run a command on the kernel that carries a policy (Linux 6.12 + our patch, under qemu)",
  takesCommand: true,
  options: {
    policy: { type: "string", value: "P", required: true, help: "the policy whose kernel boots (kernel/patches/P.patch; scripts/build-kernels.sh builds it)" },
    timeout: { type: "string", value: "S", default: 600, help: "seconds before the guest is killed" },
    out: { type: "string", value: "DIR", default: "a fresh temp directory, printed", help: "the writable share ($FBREPLAY_VM_OUT inside)" },
    "kernel-cmdline": { type: "string", value: "ARGS", default: "none", help: "appended to the guest kernel's command line" },
    kvm: { type: "boolean", help: "use KVM instead of TCG (only where KVM can run a guest)" },
  },
  notes: "CMD runs as root in the current directory. The guest sees the host's files read-only (virtio-9p), has its own\n" +
    "tmpfs on /tmp, /run and /var/tmp, and a writable share at $FBREPLAY_VM_OUT (/run/out) whose files are in DIR\n" +
    "afterwards. CMD's stderr shows as it runs, its stdout at the end; the exit status is CMD's. qemu never outlives\n" +
    "the command (timeout, Ctrl-C: exit 130); a guest that fails to boot is reported with its console's tail.",
  run({ values: v, rest: command }) {
    return guestFailures(async () => {
      if (v.policy === undefined) throw new UsageError("vm needs --policy P (ptr, inode, digest, reuse)");
      const timeoutS = parseNumber(v.timeout as string | undefined, "timeout", (n) => n > 0, "a positive number of seconds") ?? 600;
      const r = await runVm({
        policy: v.policy as string, command, timeoutS, outDir: v.out as string | undefined,
        cmdline: v["kernel-cmdline"] as string | undefined, kvm: v.kvm === true,
      });
      process.stdout.write(r.stdout);
      process.stderr.write(`fbreplay vm: ${v.policy} guest: ${command[0]} exited with status ${r.exitCode} after ${(r.elapsedMs / 1000).toFixed(1)} s; out: ${r.outDir}\n`);
      return r.exitCode;
    });
  },
};
