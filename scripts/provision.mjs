#!/usr/bin/env node
// Provisions what the test suite needs from the machine, step by step, and writes what each step gave to
// build/provision.json: { "<step>": { ok: true, detail } | { ok: false, why } }. The tests read that file
// (test/provision.ts) and skip, with one line each, what a failed step leaves impossible. Every step is a script
// that is idempotent and quick when its result is already there (Debian packages queried with dpkg, built helpers
// kept in a cache outside the clone: scripts/lib/provision.sh). vitest's global setup runs this before every run.
import { spawn } from "node:child_process";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** In order: a step may use what an earlier one installed. */
export const STEPS = [
  { name: "fuse", script: "scripts/install-fuse.sh", for: "real FUSE mounts: record, the fbreplay daemon, passthrough_hp" },
  { name: "passthrough_hp", script: "scripts/build-passthrough-hp.sh", for: "record --daemon passthrough_hp", needs: ["fuse"] },
  { name: "capture", script: "scripts/build-capture.sh", for: "fbreplay capture (BPF on the FUSE tracepoints) and its tests" },
  { name: "test-daemons", script: "scripts/build-test-daemons.sh", for: "capture's tests on passthrough_hp --backing-per-open and restarts", needs: ["fuse"] },
  { name: "cc", script: "scripts/install-cc.sh", for: "the C port of the core, kept in step with the wasm core" },
  { name: "addon", script: "scripts/build-addon.sh", for: "record --daemon native, kernel-check: the daemon's ioctl addon", needs: ["cc"] },
  { name: "chromium", script: "scripts/install-chromium.sh", for: "the HTML report opened in a real browser" },
  { name: "kernels", script: "scripts/build-kernels.sh", for: "vm and kernel-check: each policy's own kernel under qemu", needs: ["fuse"] },
];

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const PROVISION_FILE = join(root, "build", "provision.json");

const lastLine = (text) => text.trim().split("\n").filter(Boolean).pop() ?? "";

/**
 * Runs one step. What it says on stderr (what it is installing or building) is passed on as it comes, a line behind:
 * its last line is its reason when it fails, said once in the summary.
 */
function runStep(step, log) {
  const started = Date.now();
  const child = spawn("bash", [join(root, step.script)], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => { stdout += d; });
  child.stderr.on("data", (d) => {
    const before = stderr.split("\n").filter(Boolean).length;
    stderr += d;
    const lines = stderr.split("\n").filter(Boolean);
    for (const line of lines.slice(Math.max(0, before - 1), -1)) log(`provision: ${step.name}: ${line}`);
  });
  return new Promise((resolve) => child.on("close", (status, signal) => {
    const seconds = (Date.now() - started) / 1000;
    if (status === 0) return resolve({ ok: true, detail: lastLine(stdout), seconds });
    const why = lastLine(stderr) || (signal ? `killed by ${signal}` : `exit status ${status}`);
    resolve({ ok: false, why: `${why} (${step.script})`, seconds });
  }));
}

export async function provision({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const results = {};
  for (const step of STEPS) {
    const missing = (step.needs ?? []).find((n) => !results[n]?.ok);
    const r = missing ? { ok: false, why: `needs ${missing}, unavailable`, seconds: 0 } : await runStep(step, log);
    results[step.name] = r.ok ? { ok: true, detail: r.detail } : { ok: false, why: r.why };
    const took = r.seconds >= 1 ? ` (${r.seconds.toFixed(0)} s)` : "";
    log(r.ok ? `provision: ${step.name}: ${r.detail}${took}` : `provision: ${step.name} unavailable, skipping ${step.for}: ${r.why}`);
  }
  mkdirSync(dirname(PROVISION_FILE), { recursive: true });
  writeFileSync(`${PROVISION_FILE}.tmp`, `${JSON.stringify(results, null, 2)}\n`);
  renameSync(`${PROVISION_FILE}.tmp`, PROVISION_FILE);
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--help")) {
    console.log(`usage: node scripts/provision.mjs\n\nInstalls or builds what the tests need, step by step, and writes ${PROVISION_FILE}:\n` +
      STEPS.map((s) => `  ${s.name.padEnd(16)}${s.script}: ${s.for}`).join("\n") +
      "\n\nBuilt helpers are cached in $FBREPLAY_CACHE (default ~/.cache/fbreplay). Exit 0 even when a step fails:\nthe tests that need it are skipped and say why.");
  } else {
    await provision();
  }
}
