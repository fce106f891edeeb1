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

// ---- option values: one line naming the option when a value is wrong (exit 2) ----

export function parseList<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T[] {
  if (value === undefined) return [...allowed];
  const items = value.split(",").map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (!allowed.includes(item as T)) throw new UsageError(`unknown ${what} '${item}' (one of: ${allowed.join(", ")})`);
  }
  if (items.length === 0) throw new UsageError(`--${what} needs at least one value`);
  return items as T[];
}

/** One of `allowed`, or `fallback` when absent. */
export function parseChoice<T extends string>(value: string | undefined, allowed: readonly T[], what: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw new UsageError(`unknown ${what} '${value}' (one of: ${allowed.join(", ")})`);
  return value as T;
}

export function parseNumber(value: string | undefined, name: string, check: (n: number) => boolean, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${name} ${value}: expected ${what}`);
  return n;
}
export const count = (v: string | undefined, name: string) => parseNumber(v, name, (n) => Number.isInteger(n) && n >= 1, "an integer >= 1");
export const rate = (v: string | undefined, name: string) => parseNumber(v, name, (n) => n >= 0 && n <= 1, "a probability in [0, 1]");
export const seed = (v: string | undefined, name: string) => parseNumber(v, name, (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff, "an integer in [0, 2^32)");

export function percentOrFraction(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = v.endsWith("%") ? Number(v.slice(0, -1)) / 100 : Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0 || n >= 1) throw new UsageError(`--${name} ${v}: expected a fraction in [0, 1) or a percentage`);
  return n;
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
