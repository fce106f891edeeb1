// A fuzz worker thread: runs inputs [start, end) of one target and reports a class for each. The parent watches
// the shared slot (the input running now) to catch hangs and memory growth, which a run cannot report itself.
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { INTERRUPT_NOTICE } from "../../dist/cli/context.js";
import { Rng } from "./mutate.mjs";

/** The seed of input i of a target: every input can be made again alone (`npm run fuzz -- --target T --only I`). */
export function inputSeed(seed, target, i) {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (const ch of `${target}:${i}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/** A defect when the error is not one of the target's clean errors, spans lines, or names none of the inputs. */
export function classifyError(e, cleanErrors, input) {
  const name = e?.name && e.name !== "Error" ? e.name : e?.constructor?.name ?? typeof e;
  const message = String(e?.message ?? e);
  if (!cleanErrors.includes(name)) return { cls: "defect", kind: `${name}`, detail: message.split("\n")[0].slice(0, 300) };
  if (/[\r\n]/.test(message)) return { cls: "defect", kind: "multi-line error", detail: message.slice(0, 300) };
  const named = [...input.inputs, input.output].filter(Boolean).some((p) => message.includes(p));
  if (!named) return { cls: "defect", kind: "error names no input", detail: message.slice(0, 300) };
  return { cls: "clean", kind: "clean error", detail: message.slice(0, 200) };
}

function leftovers(input) {
  if (input.output === undefined) return [];
  const dir = join(input.output, "..");
  const base = input.output.split("/").pop();
  return readdirSync(dir).filter((f) => f === base || (f.startsWith(base) && f.includes("tmp")));
}

async function main() {
  const { target, seed, start, end, dir, slot, defectsDir, interruptMs } = workerData;
  const shared = new Int32Array(slot);
  const isCli = target === "cli";
  const { TARGETS } = await import("./targets.mjs");
  const cli = isCli ? await import("./cli.mjs") : null;
  let files = null;
  if (isCli) {
    const { makeCliTraces } = await import("./run-support.mjs");
    mkdirSync(join(dir, "adir"), { recursive: true });
    files = cli.cliFiles(dir, await makeCliTraces(dir));
  }
  const T = TARGETS[target];
  const counts = { ok: 0, clean: 0, defect: 0 };
  const defects = [];
  /** What kind of input ran and how it ended: "<shape> <class>" → count (the slice checks it covers them all). */
  let shapes = {};
  const fingerprint = () => (isCli ? Object.fromEntries(["trace", "native", "results", "log", "history", "strace", "badTrace"].map((k) => {
    const s = statSync(files[k]);
    return [k, `${s.size}:${s.mtimeMs}`];
  })) : null);
  const before = fingerprint();
  for (let i = start; i < end; i++) {
    if (Atomics.load(shared, 2) === 1) break; // the run's time is up
    Atomics.store(shared, 0, i);
    Atomics.add(shared, 1, 1);
    const rng = new Rng(inputSeed(seed, target, i));
    let result;
    const runDir = join(dir, "run");
    if (!isCli) {
      rmSync(runDir, { recursive: true, force: true });
      mkdirSync(runDir);
    } else {
      for (const f of readdirSync(dir)) if (f.startsWith("out.") || f.includes(".tmp")) rmSync(join(dir, f), { force: true, recursive: true });
    }
    let input;
    try {
      if (isCli) {
        input = { argv: cli.cliArgs(rng, files) };
        const r = await cli.runCli(input.argv, interruptMs);
        result = classifyCli(r, cli.outputsLeft(dir));
        const after = fingerprint();
        const changed = Object.keys(before).filter((k) => before[k] !== after[k]);
        if (changed.length > 0) {
          // Overwriting a file the command was told to write is its job; one it read must never change.
          const read = inputsOf(input.argv);
          const destroyed = changed.filter((k) => read.has(files[k]));
          if (destroyed.length > 0) result = { cls: "defect", kind: "input changed", detail: destroyed.join(",") };
          files = cli.cliFiles(dir, await (await import("./run-support.mjs")).makeCliTraces(dir));
          Object.assign(before, fingerprint());
        }
      } else {
        input = T.input(rng, runDir);
        try {
          await T.run(rng, input);
          result = { cls: "ok", kind: "ok" };
        } catch (e) {
          result = classifyError(e, T.cleanErrors, input);
          const left = leftovers(input);
          if (result.cls !== "defect" && left.length > 0) result = { cls: "defect", kind: "output left after failure", detail: `${left.join(", ")} after: ${result.detail}` };
        }
      }
    } catch (e) {
      result = { cls: "defect", kind: `harness: ${e?.name}`, detail: String(e?.stack ?? e).slice(0, 500) };
    }
    counts[result.cls]++;
    const shape = `${isCli ? input?.argv?.[0] : input?.shape} ${result.cls}`;
    shapes[shape] = (shapes[shape] ?? 0) + 1;
    if (result.cls === "defect") {
      defects.push({ target, index: i, kind: result.kind, detail: result.detail, argv: input?.argv });
      if (defectsDir !== undefined && !isCli && existsSync(runDir)) cpSync(runDir, join(defectsDir, `${target}-${i}`), { recursive: true });
    }
    // Every input is reported at once: a worker stopped for a hang loses nothing it ran before.
    parentPort.postMessage({ type: "progress", counts: { ...counts }, shapes, defects: defects.splice(0), done: i + 1 });
    counts.ok = counts.clean = counts.defect = 0;
    shapes = {};
  }
  parentPort.postMessage({ type: "done" });
}

/** The paths argv reads: every argument but the command and the value of -o/--output. */
function inputsOf(argv) {
  const read = new Set();
  for (let i = 1; i < argv.length; i++) {
    if (argv[i] === "-o" || argv[i] === "--output") { i++; continue; }
    read.add(argv[i].replace(/^--[\w-]+=/, ""));
  }
  return read;
}


/** A CLI run: exit 0 (or 130 after our interrupt) is fine; 2 needs one line and no stdout; anything else is a defect. */
export function classifyCli(r, left) {
  let errLines = r.stderr.split("\n").filter((l) => l !== "");
  // The line Ctrl-C prints is the harness's doing after its own interrupt, not a line of the command's answer;
  // anywhere else it counts like any other line.
  if (r.interrupted) {
    const at = errLines.indexOf(INTERRUPT_NOTICE);
    if (at >= 0) errLines = errLines.filter((_, i) => i !== at);
  }
  if (r.status === 0) return left.some((f) => f.includes(".tmp")) ? { cls: "defect", kind: "temporary file left", detail: left.join(",") } : { cls: "ok", kind: "ok" };
  if (r.status === 130 && r.interrupted) return left.some((f) => f.includes(".tmp") || f === "out.fbt") && !r.stdout ? { cls: "defect", kind: "output left after interrupt", detail: left.join(",") } : { cls: "ok", kind: "interrupted" };
  if (r.status === 1 && errLines.length === 0) return { cls: "ok", kind: "compare: differences" };
  if (r.status === 2) {
    if (errLines.length !== 1 || !errLines[0].startsWith("fbreplay: ")) return { cls: "defect", kind: "not one line", detail: errLines.join(" | ").slice(0, 300) };
    if (r.stdout !== "") return { cls: "defect", kind: "partial output with an error", detail: `${r.stdout.slice(0, 100)} / ${errLines[0]}` };
    if (left.length > 0) return { cls: "defect", kind: "output left after failure", detail: `${left.join(",")} / ${errLines[0]}` };
    return { cls: "clean", kind: "clean error", detail: errLines[0] };
  }
  return { cls: "defect", kind: `exit ${r.status}`, detail: r.stderr.slice(0, 300) };
}

if (!isMainThread && workerData?.target !== undefined) await main();
