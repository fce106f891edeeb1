// strace's output notation, shared by the two strace readers (a workload's, strace.ts; a daemon's, daemon-strace.ts):
// the line prefix, calls split over `<unfinished ...>` / `<... resumed>` lines, arguments, and C-escaped strings.

/** A line's thread and time (`PID TIME …` from strace -f -o, `[pid PID] TIME …` to stderr, or `TIME …`). */
export interface StraceLine {
  pid: number;
  /** -t/-tt `HH:MM:SS[.us]` or -ttt `SECONDS.us`; undefined without -t. */
  time?: string;
  /** The rest: a call, `+++ exited … +++`, `--- SIG… ---`, or a call's start or resumption. */
  body: string;
}

const PREFIX = /^(?:(\d+)\s+|\[pid\s+(\d+)\]\s+)?(?:(\d\d:\d\d:\d\d(?:\.\d+)?|\d+\.\d+)\s+)?/;
const UNFINISHED = " <unfinished ...>";
const RESUMED = /^<\.\.\. ([a-z_0-9]+) resumed>/;

export function splitStraceLine(text: string): StraceLine {
  const m = PREFIX.exec(text)!;
  return { pid: Number(m[1] ?? m[2] ?? 0), time: m[3], body: text.slice(m[0].length) };
}

/**
 * Joins a call strace split in two because another thread ran in between: the `<unfinished ...>` start waits, per
 * thread, for its `<... call resumed>` rest. `join` gives the whole call, null while the start waits, or an Error for a
 * resumption whose start never came.
 */
export class Resumptions {
  private readonly started = new Map<number, string>();

  join(pid: number, body: string): string | null | Error {
    if (body.endsWith(UNFINISHED)) {
      this.started.set(pid, body.slice(0, -UNFINISHED.length));
      return null;
    }
    const resumed = RESUMED.exec(body);
    if (!resumed) return body;
    const start = this.started.get(pid);
    if (start === undefined) return new Error(`<... ${resumed[1]} resumed> without its unfinished call`);
    this.started.delete(pid);
    return start + body.slice(resumed[0].length);
  }
}

/** `name` made absolute against directory `dir` (unless it is absolute already), with `.` and `..` resolved. */
export function resolvePath(dir: string, name: string): string {
  const parts = (name.startsWith("/") ? name : `${dir}/${name}`).split("/");
  const out: string[] = [];
  for (const p of parts) {
    if (p === "" || p === ".") continue;
    if (p === "..") out.pop();
    else out.push(p);
  }
  return `/${out.join("/")}`;
}

/** The index of the `)` closing the argument list that starts at `from`, skipping strings and brackets; -1 if none. */
export function closingParen(s: string, from: number): number {
  let depth = 0;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (c === '"') {
      i = endOfString(s, i);
      if (i < 0) return -1;
    } else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === "]" || c === "}") depth--;
    else if (c === ")") {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

/** The index of the `"` closing the string opened at `open`; -1 if it is not closed. */
function endOfString(s: string, open: number): number {
  for (let i = open + 1; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === '"') return i;
  }
  return -1;
}

/** Top-level arguments, split at `, ` outside strings, brackets and fd annotations. */
export function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"') {
      const end = endOfString(s, i);
      if (end < 0) break;
      i = end;
    } else if (c === "(" || c === "[" || c === "{" || c === "<") depth++;
    else if (c === ")" || c === "]" || c === "}" || c === ">") depth--;
    else if (c === "," && depth === 0) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(s.slice(start).trim());
  return out;
}

/** The bytes of a strace string argument `"…"` (a trailing `...` marks it cut off); null if it is not one. */
export function stringArg(arg: string): Uint8Array | null {
  if (!arg.startsWith('"')) return null;
  const end = endOfString(arg, 0);
  if (end < 0) return null;
  return unescape(arg.slice(1, end));
}

/** A string argument as text (paths: bytes strace escaped are UTF-8); null if it is not one. */
export function stringText(arg: string): string | null {
  const bytes = stringArg(arg);
  return bytes === null ? null : Buffer.from(bytes).toString("utf8");
}

const SIMPLE_ESCAPES: Record<string, number> = { n: 10, t: 9, v: 11, f: 12, r: 13, '"': 34, "\\": 92, a: 7, b: 8 };

/** strace's C escapes: \n \t \v \f \r \" \\, octal \NNN (1–3 digits), hex \xHH; anything else is itself. */
function unescape(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x5c) {
      if (c < 0x80) out.push(c);
      else for (const b of Buffer.from(s[i], "utf8")) out.push(b);
      continue;
    }
    const e = s[++i];
    if (e in SIMPLE_ESCAPES) out.push(SIMPLE_ESCAPES[e]);
    else if (e === "x") {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (e >= "0" && e <= "7") {
      let j = i;
      while (j < i + 3 && s[j] >= "0" && s[j] <= "7") j++;
      out.push(parseInt(s.slice(i, j), 8) & 0xff);
      i = j - 1;
    } else out.push(e.charCodeAt(0));
  }
  return Uint8Array.from(out);
}
