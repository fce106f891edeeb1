// fbreplay's command line: it finds the command, parses its options by the command's spec, runs it, and turns
// what went wrong into one line and an exit status. Nothing else: every command is a file of commands/.
import { IngestError } from "../ingest/index.js";
import { ResultsError } from "../results/index.js";
import { RecordError } from "../record/index.js";
import { CaptureError } from "../capture/index.js";
import { CaptureError as CaptureFileError } from "../ingest/capture.js";
import { TraceError } from "../trace/types.js";
import { commandHelp, flushNotices, parseCommand, type Command } from "./command.js";
import { captureCommand } from "./commands/capture.js";
import { compare } from "./commands/compare.js";
import { exportCommand } from "./commands/export.js";
import { history } from "./commands/history.js";
import { ingest } from "./commands/ingest.js";
import { inspect } from "./commands/inspect.js";
import { kernelCheckCommand } from "./commands/kernel-check.js";
import { oracle } from "./commands/oracle.js";
import { record } from "./commands/record.js";
import { replay } from "./commands/replay.js";
import { report } from "./commands/report.js";
import { scenarios } from "./commands/scenarios.js";
import { adviseCommand } from "./commands/advise.js";
import { synth } from "./commands/synth.js";
import { vm } from "./commands/vm.js";
import { version } from "./context.js";
import { mainHelp } from "./help.js";
import { UsageError } from "./options.js";

export const COMMANDS: readonly Command[] = [
  scenarios, replay, adviseCommand, inspect, synth, ingest, record, captureCommand, oracle, vm, kernelCheckCommand, compare, history,
  exportCommand, report,
];

/** Errors of bad input, which the user can mend: one line, exit 2. */
const BAD_INPUT = [UsageError, TraceError, IngestError, RecordError, CaptureError, CaptureFileError, ResultsError];

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  flushNotices(false);
  try {
    if (name === undefined || name === "help" || name === "--help" || name === "-h") {
      process.stdout.write(`${mainHelp(COMMANDS)}\n`);
      return 0;
    }
    if (name === "--version" || name === "version") {
      process.stdout.write(`fbreplay ${version()}\n`);
      return 0;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (command === undefined) throw new UsageError(`unknown command '${name}'; see 'fbreplay --help'`);
    const parsed = parseCommand(command, args);
    if (parsed.values.help) {
      process.stdout.write(`${commandHelp(command)}\n`);
      return 0;
    }
    const status = await command.run(parsed);
    flushNotices();
    return status;
  } catch (err) {
    const e = err as Error & { code?: string; path?: string; syscall?: string };
    if (e.path !== undefined && e.syscall !== undefined) { // a file that cannot be opened or read is bad input
      process.stderr.write(`fbreplay: ${e.path}: ${e.message.replace(/^\w+: /, "").replace(/, \w+ '.*'$/, "")}\n`);
      return 2;
    }
    if (BAD_INPUT.some((kind) => err instanceof kind) || e.code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`fbreplay: ${e.message.replace(/\s+/g, " ").trim()}\n`);
      return 2;
    }
    // An internal error: still one line (exit 1), the stack only with FBREPLAY_DEBUG set.
    if (process.env.FBREPLAY_DEBUG) process.stderr.write(`${e.stack}\n`);
    process.stderr.write(`fbreplay: internal error: ${String(e.message).replace(/\s+/g, " ").trim()}\n`);
    return 1;
  }
}
