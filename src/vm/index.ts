// `fbreplay vm`: run a command as root on a policy's own kernel (scripts/build-kernels.sh) under qemu. The guest's
// root is the host's, read-only over virtio-9p; /tmp, /run and /var/tmp are its own tmpfs; the host's out directory
// is a second, writable 9p share at /run/out ($FBREPLAY_VM_OUT), so whatever the command writes there is on the host
// when qemu ends. PID 1 is kernel/guest-init.sh. TCG (-cpu max): KVM is used only when asked, where it works.
//
// qemu never outlives a run: it is killed at the timeout, on SIGINT/SIGTERM and at exit, and a boot that fails
// (no status written) is reported with the tail of the guest's console.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export class VmError extends Error {
  /** Ended by SIGINT/SIGTERM: the guest was killed (exit 130). */
  readonly interrupted: boolean;
  constructor(message: string, interrupted = false) {
    super(message);
    this.name = "VmError";
    this.interrupted = interrupted;
  }
}

export interface VmOptions {
  /** The policy whose kernel boots (kernel/patches/<policy>.patch). */
  policy: string;
  /** argv run inside, as root, in `cwd`. */
  command: string[];
  /** Working directory inside (default: the caller's; the host's tree is there, read-only). */
  cwd?: string;
  /** The writable share; a fresh temp directory by default. */
  outDir?: string;
  /** Seconds before the guest is killed (default 600). */
  timeoutS?: number;
  /** Appended to the kernel command line. */
  cmdline?: string;
  /** Guest memory in MiB (default 1024) and CPUs (default 2). */
  memoryMiB?: number;
  cpus?: number;
  /** Use KVM (default false: TCG; KVM cannot run a guest on the project's machines). */
  kvm?: boolean;
  /** Where the command's stderr goes as it runs (default: this process's stderr). */
  onStderr?: (text: string) => void;
}

export interface VmRun {
  exitCode: number;
  /** The command's stdout (the file the guest wrote). */
  stdout: string;
  outDir: string;
  kernel: string;
  /** Milliseconds from qemu's start to its end. */
  elapsedMs: number;
}

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const BUILD_KERNELS = join(REPO_ROOT, "scripts/build-kernels.sh");
const GUEST_INIT = join(REPO_ROOT, "kernel/guest-init.sh");
const CONSOLE_TAIL = 25;

/** The bzImage of `policy`, or a VmError saying how to get it. */
export function kernelImage(policy: string): string {
  const r = spawnSync(BUILD_KERNELS, ["--path", policy], { encoding: "utf8" });
  if (r.status !== 0) throw new VmError(r.stderr.trim() || `${BUILD_KERNELS} --path ${policy} failed`);
  return r.stdout.trim();
}

/** "Linux <debian version> + kernel/patches/<policy>.patch (<hash>)". */
export function kernelDescription(policy: string): string {
  const r = spawnSync(BUILD_KERNELS, ["--describe", policy], { encoding: "utf8" });
  if (r.status !== 0) throw new VmError(r.stderr.trim() || `${BUILD_KERNELS} --describe ${policy} failed`);
  return r.stdout.trim();
}

/** A POSIX shell word. */
const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

function qemuArgs(o: VmOptions, kernel: string, outDir: string): string[] {
  const cmdline = [
    "console=ttyS0", "root=hostroot", "rootfstype=9p",
    "rootflags=trans=virtio,version=9p2000.L,cache=loose,msize=512000", "ro", `init=${GUEST_INIT}`,
    // no_timer_check: on a busy host TCG's ticks come late, and the IO-APIC timer check then panics the boot.
    "panic=-1", "oops=panic", "loglevel=4", "no_timer_check", o.cmdline ?? "",
  ].filter(Boolean).join(" ");
  return [
    "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
    ...(o.kvm ? ["-accel", "kvm", "-cpu", "host"] : ["-accel", "tcg", "-cpu", "max"]),
    "-m", String(o.memoryMiB ?? 1024), "-smp", String(o.cpus ?? 2),
    "-kernel", kernel, "-append", cmdline,
    "-fsdev", "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap",
    "-device", "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot",
    "-fsdev", `local,id=fbout,path=${outDir},security_model=none`,
    "-device", "virtio-9p-pci,fsdev=fbout,mount_tag=fbout",
    "-device", "virtio-rng-pci",
    "-serial", `file:${join(outDir, "console.log")}`,
    "-serial", "stdio",
  ];
}

// ---- qemu processes to kill whatever happens ------------------------------------------------------------------
// While a guest runs, SIGINT and SIGTERM kill qemu; runVm then rejects with an interrupted VmError (the caller
// exits 130), and at exit nothing is left running.

const running = new Set<ChildProcess>();
let interrupted: NodeJS.Signals | null = null;
const killAll = () => { for (const q of running) q.kill("SIGKILL"); };
const onSignal = (signal: NodeJS.Signals) => {
  interrupted = signal;
  killAll();
};
const handlers = { SIGINT: () => onSignal("SIGINT"), SIGTERM: () => onSignal("SIGTERM") };
function watch(): void {
  if (running.size > 0) return;
  process.on("exit", killAll);
  process.on("SIGINT", handlers.SIGINT);
  process.on("SIGTERM", handlers.SIGTERM);
}
function unwatch(): void {
  if (running.size > 0) return;
  process.off("exit", killAll);
  process.off("SIGINT", handlers.SIGINT);
  process.off("SIGTERM", handlers.SIGTERM);
}

/** The last lines of the guest's console, for a failure message. */
function consoleTail(outDir: string): string {
  const path = join(outDir, "console.log");
  if (!existsSync(path)) return "(no console output)";
  const lines = readFileSync(path, "utf8").replace(/\r/g, "").trimEnd().split("\n");
  return lines.slice(-CONSOLE_TAIL).map((l) => `  | ${l}`).join("\n");
}

export function which(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
}

/** Boots the policy's kernel, runs the command, and resolves once qemu is gone. */
export async function runVm(o: VmOptions): Promise<VmRun> {
  if (o.command.length === 0) throw new VmError("vm needs a command after --");
  if (!which("qemu-system-x86_64")) throw new VmError("qemu-system-x86_64 not found: run scripts/build-kernels.sh (installs qemu-system-x86)");
  const kernel = kernelImage(o.policy);
  const outDir = resolve(o.outDir ?? mkdtempSync(join(tmpdir(), `fbreplay-vm-${o.policy}-`)));
  mkdirSync(outDir, { recursive: true });
  for (const f of ["status", "stdout", "console.log"]) rmSync(join(outDir, f), { force: true });
  const cwd = resolve(o.cwd ?? process.cwd());
  writeFileSync(join(outDir, "argv"), o.command.map(quote).join(" "));
  writeFileSync(join(outDir, "cmd.sh"), `cd ${quote(cwd)} || exit 126\nexec ${o.command.map(quote).join(" ")}\n`);
  // The guest's /tmp and /var/tmp are its own: a clone (or a working directory) below them on the host is bound
  // back at its path, or the guest would not see it (kernel/guest-init.sh).
  const under = (p: string) => ["/tmp/", "/var/tmp/"].some((d) => p.startsWith(d));
  writeFileSync(join(outDir, "binds"), [...new Set([REPO_ROOT, cwd])].filter(under).map((p) => `${p}\n`).join(""));
  const timeoutS = o.timeoutS ?? 600;
  const onStderr = o.onStderr ?? ((t: string) => process.stderr.write(t));

  const start = Date.now();
  if (running.size === 0) interrupted = null; // guests running side by side share one interrupt
  if (interrupted !== null) throw new VmError(`${o.policy} guest not started: interrupted by ${interrupted}`, true);
  watch();
  const qemu = spawn("qemu-system-x86_64", qemuArgs(o, kernel, outDir), { stdio: ["ignore", "pipe", "pipe"] });
  running.add(qemu);
  let qemuErr = "";
  qemu.stdout!.setEncoding("utf8").on("data", (d: string) => onStderr(d.replace(/\r/g, "")));
  qemu.stderr!.setEncoding("utf8").on("data", (d: string) => { qemuErr += d; });
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; qemu.kill("SIGKILL"); }, timeoutS * 1000);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    qemu.on("error", () => res({ code: null, signal: null }));
    qemu.on("exit", (c, s) => res({ code: c, signal: s }));
  });
  clearTimeout(timer);
  running.delete(qemu);
  unwatch();
  const elapsedMs = Date.now() - start;

  const statusFile = join(outDir, "status");
  if (interrupted !== null) throw new VmError(`${o.policy} guest killed on ${interrupted}; its out directory: ${outDir}`, true);
  if (timedOut) throw new VmError(`${o.policy} guest timed out after ${timeoutS} s (qemu killed); console tail:\n${consoleTail(outDir)}`);
  if (!existsSync(statusFile)) {
    const how = signal ? `qemu killed by ${signal}` : `qemu exited with status ${code}`;
    const err = qemuErr.trim() ? `; qemu said: ${qemuErr.trim().split("\n").slice(-3).join(" / ")}` : "";
    throw new VmError(`${o.policy} guest did not finish its command (${how}${err}); console tail:\n${consoleTail(outDir)}`);
  }
  const exitCode = Number(readFileSync(statusFile, "utf8").trim());
  const stdoutFile = join(outDir, "stdout");
  const stdout = existsSync(stdoutFile) ? readFileSync(stdoutFile, "utf8") : "";
  return { exitCode: Number.isInteger(exitCode) ? exitCode : 1, stdout, outDir, kernel, elapsedMs };
}
