// What a result was measured on: enough to reproduce it or to refuse comparing it with another.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";

const root = new URL("../../", import.meta.url);

function git(...args) {
  try {
    return execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

/** The commit measured, and whether tracked files differed from it. */
export function source() {
  return { commit: git("rev-parse", "HEAD"), dirty: (git("status", "--porcelain", "--untracked-files=no") ?? "") !== "" };
}

/** The run manifest: commit, runtimes, compiler and flags, machine. Workload hashes and options are added by the caller. */
export function manifest({ native, tinybench }) {
  const asc = JSON.parse(readFileSync(new URL("node_modules/assemblyscript/package.json", root), "utf8"));
  const asconfig = JSON.parse(readFileSync(new URL("asconfig.json", root), "utf8"));
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    ...source(),
    node: process.version,
    v8: process.versions.v8,
    asc: { version: asc.version, flags: { ...asconfig.options, ...asconfig.targets.release } },
    native: "skipped" in native ? { skipped: native.skipped } : { cc: native.cc, version: native.version, flags: native.flags },
    cpu: { model: cpu[0]?.model ?? "unknown", cores: cpu.length },
    memory_gib: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    tinybench,
  };
}
