// A command of the CLI: its options as data (types, defaults, what they mean), from which the parser's
// configuration and the help are both made, and `run`. Every command lives in its own file under commands/.
import { parseOptions } from "./options.js";

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  /** The value's placeholder in the help: N, P, FILE, P,... */
  value?: string;
  /** The default, as the help shows it ("none": no value, the feature is off); boolean options default to false. */
  default?: string | number;
  /** The command refuses to run without it (the help says so instead of a default). */
  required?: boolean;
  /** What the option means (wrapped to the help's width). */
  help: string;
}

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** What followed `--` (record's command), when the command takes it. */
  rest: string[];
}

export interface Command {
  name: string;
  /** The synopsis after `fbreplay`: `replay TRACE... [options]`. */
  usage: string;
  /** One line for the command list. */
  summary: string;
  options: Record<string, OptionSpec>;
  /** Paragraphs after the options. */
  notes?: string;
  /** Positional arguments allowed (their count is the command's to check). */
  positionals?: boolean;
  /** Everything after `--` goes to `rest` unparsed (a command to run). */
  takesCommand?: boolean;
  /** Old spellings still taken for one release, with a line saying the new one: old name → option name. */
  deprecated?: Record<string, string>;
  run(parsed: Parsed): number | Promise<number>;
}

export const HELP_OPTION: OptionSpec = { type: "boolean", short: "h", help: "this command's options" };

/**
 * Deprecation notices of this run, said once the command has run: a command that fails on bad input says one line,
 * its error.
 */
const notices: string[] = [];

export function deprecation(text: string): void {
  if (!notices.includes(text)) notices.push(text);
}

/** Says the run's notices (and forgets them); `say` false: forgets them unsaid. */
export function flushNotices(say = true): void {
  for (const text of notices.splice(0)) if (say) process.stderr.write(`fbreplay: ${text}\n`);
}

/** Parses `args` by the command's own option specs (and --help). */
export function parseCommand(command: Command, args: string[]): Parsed {
  let rest: string[] = [];
  let own = args;
  if (command.takesCommand) {
    const split = args.indexOf("--");
    if (split >= 0) {
      own = args.slice(0, split);
      rest = args.slice(split + 1);
    }
  }
  const end = own.indexOf("--");
  own = own.map((arg, i) => {
    const m = end >= 0 && i >= end ? null : /^--([^=]+)(=.*)?$/.exec(arg);
    const now = m && command.deprecated?.[m[1]];
    if (!now) return arg;
    deprecation(`${command.name} --${m[1]} is deprecated and goes in the next release: use --${now}`);
    return `--${now}${m[2] ?? ""}`;
  });
  const options = Object.fromEntries(
    Object.entries({ ...command.options, help: HELP_OPTION }).map(([name, o]) => [
      name, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.type === "boolean" ? { default: false } : {}) },
    ]),
  );
  const { values, positionals } = parseOptions({ args: own, options, allowPositionals: command.positionals ?? false, strict: true });
  return { values: values as Parsed["values"], positionals, rest };
}

const OPTION_COLUMN = 25;
export const WIDTH = 118;

/** Words of `text` in lines of at most `width` characters. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  return line === "" ? lines : [...lines, line];
}

/** One command's help: synopsis, summary, every option with its default, then the notes. */
export function commandHelp(command: Command): string {
  const lines = [`usage: fbreplay ${command.usage}`, "", ...wrap(command.summary, WIDTH), "", "options:"];
  for (const [name, o] of Object.entries({ ...command.options, help: HELP_OPTION })) {
    const flag = `${o.short ? `-${o.short}, ` : ""}--${name}${o.value ? ` ${o.value}` : ""}`;
    const text = wrap(o.help + (o.required ? " (required)" : o.default !== undefined ? ` (default ${o.default})` : ""), WIDTH - OPTION_COLUMN);
    if (flag.length + 2 >= OPTION_COLUMN) lines.push(`  ${flag}`);
    else lines.push(`  ${flag.padEnd(OPTION_COLUMN - 2)}${text.shift() ?? ""}`);
    for (const t of text) lines.push(`${" ".repeat(OPTION_COLUMN)}${t}`);
  }
  if (command.notes) lines.push("", command.notes);
  const old = Object.entries(command.deprecated ?? {});
  if (old.length > 0) lines.push("", `deprecated spellings, taken until the next release: ${old.map(([o, n]) => `--${o} (--${n})`).join(", ")}`);
  return lines.join("\n");
}
