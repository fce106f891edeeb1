// What every command does with its arguments and its output file, in one place: option parsing that says what is
// wrong in one line, and the checks that keep an output from destroying an input.
import { renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Bad usage: one line, exit 2. */
export class UsageError extends Error {}

/** One line of someone else's message. */
function oneLine(text: string): string {
  return text.split("\n")[0].replace(/\s+/g, " ").trim();
}

/**
 * parseArgs, with two differences: a value that starts with a dash and looks like a number goes to its option
 * (`--scale -1` is then refused by the option's own range check, not by the parser in three lines), and a parser
 * error is a one-line UsageError.
 */
export function parseOptions<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  const options = config.options ?? {};
  const args = [...(config.args ?? [])];
  const stringOption = (arg: string): boolean => {
    if (arg.startsWith("--")) return options[arg.slice(2)]?.type === "string";
    if (/^-[A-Za-z]$/.test(arg)) return Object.values(options).some((o) => o.short === arg.slice(1) && o.type === "string");
    return false;
  };
  for (let i = 0; i + 1 < args.length; i++) {
    if (args[i] === "--") break;
    if (stringOption(args[i]) && /^-[\d.]/.test(args[i + 1])) {
      // --scale=-1; a short option takes its value attached: -o-1
      args.splice(i, 2, args[i].startsWith("--") ? `${args[i]}=${args[i + 1]}` : `${args[i]}${args[i + 1]}`);
    }
  }
  try {
    return parseArgs({ ...config, args } as T);
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) throw new UsageError(oneLine((e as Error).message));
    throw e;
  }
}

/** "512M", "2G", "1048576" (bytes), "64K": a byte count, at least 1 MiB. */
export function parseBytes(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)([KMG]i?B?)?$/i.exec(value.trim());
  const scale: Record<string, number> = { K: 1 << 10, M: 1 << 20, G: 1 << 30 };
  const n = m === null ? NaN : Number(m[1]) * (m[2] ? scale[m[2][0].toUpperCase()] : 1);
  if (!Number.isFinite(n) || n < 1 << 20 || n > Number.MAX_SAFE_INTEGER) {
    throw new UsageError(`--${name} ${value}: expected a size of at least 1M (bytes, or with K, M or G)`);
  }
  return Math.floor(n);
}

function statOf(path: string): { dev: number; ino: number; dir: boolean } | null {
  try {
    const s = statSync(path);
    return { dev: s.dev, ino: s.ino, dir: s.isDirectory() };
  } catch {
    return null;
  }
}

/**
 * Refuses an output path that is empty, a directory, in a directory that does not exist, or the same file as one
 * of the command's inputs (by name, or by device and inode through links). Checked before any work starts.
 */
export function checkOutput(output: string, inputs: readonly (string | undefined)[], option = "-o"): void {
  if (output.trim() === "") throw new UsageError(`${option}: the output path is empty`);
  const out = statOf(output);
  if (out?.dir) throw new UsageError(`${option} ${output}: is a directory; name the file to write`);
  const parent = statOf(dirname(resolve(output)));
  if (parent === null || !parent.dir) throw new UsageError(`${option} ${output}: directory ${dirname(output)} does not exist`);
  for (const input of inputs) {
    if (input === undefined) continue;
    const inp = statOf(input);
    if (resolve(input) === resolve(output) || (out !== null && inp !== null && inp.dev === out.dev && inp.ino === out.ino)) {
      throw new UsageError(`${option} ${output}: is an input of this command (${input}); writing it would destroy it`);
    }
  }
}

/** Writes a whole file through a temporary one beside it: the target is either the old file or the new one. */
export function writeOutputFile(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
