// Workloads held in memory, so every engine replays exactly the same event columns: a synthetic trace, or a
// bundled trace scaled and injected as `npm start` does.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describeSynth, synth, synthLimits } from "../../dist/synth/index.js";
import { openTrace } from "../../dist/trace/index.js";
import { Injector } from "../../dist/replay/inject.js";
import { backingFiles } from "../../dist/events.js";

/**
 * @typedef {object} Workload
 * @property {string} name        short label used in results
 * @property {string} description what was generated or read, with every option
 * @property {string} hash        sha256 of the trace file, or of the synth description
 * @property {import("../../dist/events.js").BackingFile[]} backing
 * @property {import("../../dist/events.js").EventColumns[]} chunks
 * @property {number} events
 * @property {{maxInodes: number, maxFiles: number}} limits
 */

/** A synthetic workload (`synth` options: events and seed required). */
export function synthWorkload(name, options) {
  const backing = [];
  const chunks = [];
  for (const item of synth(options)) {
    if (item.backing) append(backing, item.backing);
    else chunks.push(item.chunk);
  }
  const description = describeSynth(options);
  return {
    name,
    description,
    hash: createHash("sha256").update(description).digest("hex"),
    backing,
    chunks,
    events: options.events,
    limits: synthLimits(options),
  };
}

/** A trace file replayed through the injector (scale, restarts, re-downloads) into columns held in memory. */
export async function traceWorkload(path, inject) {
  const reader = await openTrace(path);
  const injector = new Injector(inject);
  const backing = [];
  const chunks = [];
  let events = 0;
  for await (const item of reader.items()) {
    if (item.kind === "backing") {
      append(backing, injector.addTraceBacking(item.files));
      continue;
    }
    const out = injector.rewrite(item.chunk);
    append(backing, backingFiles(out.backing)); // the injector reuses its table
    chunks.push(copyColumns(out.events)); // the injector reuses its output buffer
    events += out.events.length;
  }
  const K = injector.scale;
  const options = Object.entries(inject).map(([k, v]) => `${k}=${v}`).join(" ");
  return {
    name: basename(path, ".fbt"),
    description: `${basename(path)} ${options}`,
    hash: createHash("sha256").update(readFileSync(path)).digest("hex"),
    backing,
    chunks,
    events,
    limits: {
      maxInodes: Math.max(1, (reader.footer.max_nodeid + 1) * K),
      maxFiles: Math.max(1, (reader.footer.max_fh + 1) * K),
    },
  };
}

function copyColumns(ev) {
  return {
    length: ev.length,
    op: ev.op.slice(0, ev.length),
    nodeid: ev.nodeid.slice(0, ev.length),
    fh: ev.fh.slice(0, ev.length),
    bref: ev.bref.slice(0, ev.length),
    oflags: ev.oflags.slice(0, ev.length),
    fopen: ev.fopen.slice(0, ev.length),
  };
}

/** push(...xs) overflows the stack for the hundreds of thousands of versions a scaled trace has. */
function append(to, xs) {
  for (const x of xs) to.push(x);
}

/**
 * A seeded synthetic trace of `events` events written by the CLI (as a user would) into a fresh temporary directory,
 * and read once so it is in the page cache. `dispose()` removes it.
 */
export function synthTraceFile(events, label) {
  const dir = mkdtempSync(join(tmpdir(), `fbreplay-${label}-`));
  const file = join(dir, "synth.fbt");
  const cli = new URL("../../dist/cli/bin.js", import.meta.url).pathname;
  execFileSync(process.execPath, [cli, "synth", "--events", String(events), "--seed", "1", "-o", file], { stdio: "ignore" });
  readFileSync(file);
  return { file, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
