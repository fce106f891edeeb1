// The CLI target: seeded argument vectors for every command but record (it needs root and FUSE, and has tests of
// its own), run through main() in this process with stdout and stderr captured.
import { copyFileSync, existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { main } from "../../dist/cli/main.js";
import { INTERESTING_TEXT } from "./mutate.mjs";

const ROOT = new URL("../../", import.meta.url).pathname;

const NUMBERS = [...INTERESTING_TEXT, "10", "100", "1000", "0.001", "0.7", "65536", "65537"];
const RATES = ["0", "0.1", "0.5", "0.7", "1", "1.1", "-0.1", "NaN", "", "1e-9"];
/**
 * --max-memory values: none past the harness's budget, which a replay may use in full (several inputs run at once
 * in this process, whose RSS the parent holds to run.mjs's RSS_LIMIT).
 */
const SIZES = ["1M", "64M", "256M", "100", "0", "-1", "1e3", "abc", "0.25G", "1.5K"];
/** The budget of a replay whose argv names none (the default, a quarter of the RAM, is the machine's to give). */
export const CLI_MAX_MEMORY = "256M";
/** Commands that replay, so take --max-memory. */
const REPLAYING = new Set(["replay", "advise"]);

/** Each command: its options (name → values to try) and what goes in positionals. */
function commands(files) {
  const anyPath = [files.trace, files.native, files.results, files.log, files.dir, files.missing, "", files.out, files.badTrace];
  return {
    replay: {
      options: {
        "--policy": ["ptr", "ptr,inode", "bogus", "", ","], "--engine": ["wasm", "js", "c"], "--ids": ["per-inode", "per-open", "recorded", "x", "per-inode,per-open"], "--jobs": ["1", "2", "0", "-1", "x", "64"],
        "--restart-every": NUMBERS, "--restart-at": ["1", "1,2,3", "-1", "a,b", "", "5,1"], "--close-ids": null,
        "--redownload-rate": RATES, "--replace-rate": RATES, "--scale": NUMBERS, "--seed": NUMBERS, "--json": null, "--max-memory": SIZES,
      },
      positionals: () => [files.trace, files.native, files.badTrace, files.dir, files.missing, files.log, ""],
      max: 3,
    },
    advise: {
      options: {
        "--restart-every": [...NUMBERS, "0"], "--close-ids": null, "--redownload-rate": RATES, "--replace-rate": RATES, "--scale": NUMBERS,
        "--seed": NUMBERS, "--max-memory": SIZES, "--jobs": ["1", "2", "0", "64", "x"], "--json": null,
      },
      positionals: () => [files.native, files.trace, files.badTrace, files.dir, files.missing, ""],
      max: 1,
    },
    inspect: { options: { "--json": null }, positionals: () => anyPath, max: 2 },
    synth: {
      options: {
        "--events": ["1", "10", "1000", ...NUMBERS], "--seed": NUMBERS, "-o": [files.out, files.dir, "", files.trace, files.log, join(files.missing, "x.fbt")],
        "--inodes": NUMBERS, "--skew": NUMBERS, "--max-open": NUMBERS, "--write-fraction": RATES, "--replace-rate": RATES,
        "--redownload-rate": RATES, "--forget-rate": RATES,
      },
      positionals: () => [],
      required: ["--events", "--seed", "-o"],
    },
    ingest: {
      options: {
        "--from": ["libfuse-debug", "strace", "x"], "--mount": ["/m", files.dir, ""], "--source-dir": [files.dir, files.missing, files.log, ""],
        "--identities": [files.missing, files.log, files.dir], "--daemon-strace": [files.missing, files.log, files.dir, files.strace], "--strict": null,
        "-o": [files.out, files.log, files.dir, "", files.trace, files.logLink],
      },
      positionals: () => [files.log, files.strace, files.trace, files.dir, files.missing],
      required: ["--from", "-o"],
      max: 1,
    },
    oracle: { options: { "--json": null }, positionals: () => anyPath, max: 2 },
    compare: { options: { "--threshold": [...RATES, "5%", "200%"], "--alpha": [...RATES, "5%"], "--json": null }, positionals: () => anyPath, max: 3 },
    history: { options: { "--quick": null, "--threshold": RATES, "--alpha": RATES, "--json": null }, positionals: () => [files.results, files.dir, files.missing, files.history], max: 1 },
    export: { options: { "--format": ["bmf", "github", "csv", "x", ""], "-o": [files.out, files.results, files.dir, "", files.resultsLink] }, positionals: () => anyPath, max: 2 },
    report: { options: { "--history": [files.history, files.missing, files.dir, files.results], "-o": [files.outHtml, files.results, files.dir, "", files.history] }, positionals: () => anyPath, max: 2 },
    scenarios: { options: { "--json": null, "--engine": ["wasm", "js", "x"], "--policy": ["ptr", "x", ""] }, positionals: () => [], max: 0 },
  };
}

/** The commands the target runs (cliArgs also tries a few names that are none). */
export function cliCommands() {
  return Object.keys(commands(new Proxy({}, { get: () => "x" })));
}

/** Inputs the commands read, made once per scratch directory (the CLI runs must never change them). */
export function cliFiles(dir, traces) {
  const files = {
    trace: join(dir, "t.fbt"), native: join(dir, "n.fbt"), badTrace: join(dir, "bad.fbt"), results: join(dir, "results.json"),
    history: join(dir, "history.jsonl"), log: join(dir, "daemon.log"), strace: join(dir, "w.strace"), dir: join(dir, "adir"),
    missing: join(dir, "missing"), out: join(dir, "out.fbt"), outHtml: join(dir, "out.html"), logLink: join(dir, "log-link"),
    resultsLink: join(dir, "results-link"),
  };
  copyFileSync(traces.small, files.trace);
  copyFileSync(join(ROOT, "traces/sqlite-held-native.fbt"), files.native);
  writeFileSync(files.badTrace, traces.bad);
  copyFileSync(join(ROOT, "test/fixtures/bench-quick.json"), files.results);
  writeFileSync(files.history, `${JSON.stringify(JSON.parse(traces.resultsText))}\n`);
  copyFileSync(join(ROOT, "test/fixtures/bindfs-2.9.9.log"), files.log);
  copyFileSync(join(ROOT, "test/fixtures/fds.strace"), files.strace);
  return files;
}

/** One argument vector. */
export function cliArgs(rng, files) {
  const cmds = commands(files);
  const name = rng.chance(0.02) ? rng.pick(["bogus", "", "--help", "help", "version"]) : rng.pick(Object.keys(cmds));
  const cmd = cmds[name];
  const argv = [name];
  if (cmd === undefined) return argv;
  const optionNames = Object.keys(cmd.options);
  const chosen = new Set(cmd.required?.filter(() => rng.chance(0.9)) ?? []);
  const extra = rng.int(4);
  for (let i = 0; i < extra; i++) chosen.add(rng.pick(optionNames));
  for (const opt of chosen) {
    const values = cmd.options[opt];
    if (values === null) argv.push(opt);
    else if (rng.chance(0.03)) argv.push(opt); // the value missing
    else if (rng.chance(0.3) && opt.startsWith("--")) argv.push(`${opt}=${rng.pick(values)}`);
    else argv.push(opt, rng.pick(values));
  }
  // report writes report.html in the working directory without -o: the fuzz must not write outside its scratch
  if (name === "report" && !argv.includes("-o")) argv.splice(1, 0, "-o", files.outHtml);
  if (REPLAYING.has(name) && !argv.some((a) => a.startsWith("--max-memory"))) argv.splice(1, 0, "--max-memory", CLI_MAX_MEMORY);
  const n = cmd.max === 0 ? (rng.chance(0.05) ? 1 : 0) : rng.int((cmd.max ?? 1) + 1) + (rng.chance(0.9) ? 1 : 0);
  const pos = cmd.positionals();
  for (let i = 0; i < n && pos.length > 0; i++) argv.push(rng.pick(pos));
  if (rng.chance(0.03)) argv.push(rng.pick(["--bogus", "-x", "--", "-1"]));
  // shuffle options and positionals a little: order must not matter
  if (rng.chance(0.2) && argv.length > 2) {
    const i = 1 + rng.int(argv.length - 1);
    const j = 1 + rng.int(argv.length - 1);
    [argv[i], argv[j]] = [argv[j], argv[i]];
  }
  return argv;
}

/**
 * Runs main(argv) with stdout and stderr captured; an interrupt (as Ctrl-C) after `interruptMs`. Returns the
 * exit status and what was written.
 */
export async function runCli(argv, interruptMs = 3000) {
  const out = [];
  const err = [];
  const saved = [process.stdout.write, process.stderr.write];
  process.stdout.write = (chunk) => { out.push(String(chunk)); return true; };
  process.stderr.write = (chunk) => { err.push(String(chunk)); return true; };
  let interrupted = false;
  // Emitted once, and only to a command that listens: an emitted signal nobody hears is lost (a real one would end
  // the process), so a command still setting up when the time comes is interrupted as soon as it listens.
  let timer;
  const tryInterrupt = () => {
    if (process.listenerCount("SIGINT") === 0) { timer = setTimeout(tryInterrupt, 50); return; }
    interrupted = true;
    process.emit("SIGINT");
  };
  timer = setTimeout(tryInterrupt, interruptMs);
  try {
    const status = await main(argv);
    return { status, stdout: out.join(""), stderr: err.join(""), interrupted };
  } finally {
    clearTimeout(timer);
    [process.stdout.write, process.stderr.write] = saved;
    process.removeAllListeners("SIGINT");
  }
}

/** Files an output of argv may have left: out.fbt, out.html and temporaries beside them. */
export function outputsLeft(dir) {
  return readdirSync(dir).filter((f) => f.startsWith("out.") || f.includes(".tmp"));
}

export { existsSync };
