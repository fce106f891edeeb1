// A workload's `strace -f -tt -y` log → trace. The workload's view: every open of a path under the FUSE mount is an
// open (passed through), the last close of that open file description its release. File descriptions are followed
// through dup/dup2/dup3/F_DUPFD, fork/clone (children inherit the fd table; CLONE_FILES shares it), close-on-exec
// at execve and process exit. Each file (a path, followed through rename; ended by unlink) is one FUSE inode;
// its content version changes on O_TRUNC and on creation. There are no daemon-side identities in such a log:
// backing files are synthetic, one inode per file and one digest per version.
import { ownDigest } from "../digest.js";
import { basename } from "node:path";
import { FOPEN_PASSTHROUGH, OP_FORGET, OP_OPEN, OP_RELEASE } from "../abi.js";
import { TRACE_CHUNK_ROWS, TraceWriter } from "../trace/index.js";
import { IngestError, type IngestSummary } from "./errors.js";
import { readLines } from "./lines.js";
import { Emitter, SlotAllocator } from "./emitter.js";
import { NO_BACKING_IDS } from "./counts.js";
import { Resumptions, resolvePath, splitStraceLine, stringText } from "./strace-syntax.js";

export interface StraceIngestOptions {
  log: string;
  output: string;
  /** The FUSE mount point: only paths below it are the workload's FUSE files. */
  mount: string;
  strict?: boolean;
  workload?: string;
  recorder?: { name: string; version: string };
  hostKernel?: string;
  chunkRows?: number;
}

/** A file on the mount: one FUSE inode while it has a name or open files. */
interface FileObject {
  id: number;
  version: number;
  /** Trace nodeid of the current inode instance, or -1 before its first open. */
  nodeid: number;
  nopen: number;
  unlinked: boolean;
}

interface Description {
  refs: number;
  file: FileObject;
  fh: number;
}

interface FdEntry { desc: Description; cloexec: boolean }

/** An fd table, possibly shared by threads (CLONE_FILES). */
interface FdTable { fds: Map<number, FdEntry>; users: number }

/** -tt: HH:MM:SS.us (the clock below reads it). */
const TIME_OF_DAY = /^\d\d:\d\d:\d\d\.\d+$/;
const DAY_US = 86_400_000_000;
const CALL = /^(\w+)\((.*)\)\s+=\s+(-?\d+)(?:<([^>]*)>)?/;
const STRING = /"((?:[^"\\]|\\.)*)"/g;
const DIRFD = /(?:AT_FDCWD|\d+)<([^>]*)>/g;


const O_ACCMODE_NAMES: Record<string, number> = { O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2 };

class StraceMachine {
  readonly counts = { lines: 0, malformed: 0, firstMalformed: undefined as IngestSummary["firstMalformed"], requests: 0, opens: 0, releases: 0, failedOpens: 0, forgets: 0, unmatchedReleases: 0, openAtEnd: 0, opathOpens: 0, directoryOpens: 0 };
  readonly emitter: Emitter;
  private readonly tables = new Map<number, FdTable>();
  private readonly cwd = new Map<number, string>();
  private readonly resumptions = new Resumptions();
  /** The last line's time (µs since the midnight the log started after) and the midnights passed. */
  private lastUs = 0;
  private days = 0;
  private readonly byPath = new Map<string, FileObject>();
  private readonly nodeids = new SlotAllocator();
  private readonly fhs = new SlotAllocator();
  private files = 0;

  constructor(
    private readonly o: StraceIngestOptions, private readonly bref: (file: FileObject) => number,
    /** The mount's directories the log shows (paths relative to the mount, from "/"): their opens are OPENDIRs. */
    private readonly directories: ReadonlySet<string> = new Set(),
  ) {
    this.emitter = new Emitter(o.chunkRows ?? TRACE_CHUNK_ROWS, false);
  }

  private malformed(lineNo: number, text: string, reason: string): void {
    if (this.o.strict) throw new IngestError(`${this.o.log}:${lineNo}: ${reason}`);
    this.counts.malformed++;
    this.counts.firstMalformed ??= { line: lineNo, text, reason };
  }

  line(lineNo: number, text: string): void {
    this.counts.lines++;
    if (text.trim() === "") return;
    const { pid, time, body: line } = splitStraceLine(text);
    if (time === undefined || !TIME_OF_DAY.test(time)) return this.malformed(lineNo, text, "not a strace -tt line");
    this.clock(time);
    if (line.startsWith("+++ ")) return this.exit(pid);
    if (line.startsWith("--- ")) return;
    const body = this.resumptions.join(pid, line);
    if (body === null) return;
    if (body instanceof Error) return this.malformed(lineNo, text, body.message);
    const call = CALL.exec(body);
    if (!call) return; // calls with no numeric result (exit_group, ...) or with an error name only
    this.counts.requests++;
    this.syscall(pid, call[1], call[2], Number(call[3]), call[4]);
  }

  /** `-tt` time of day → µs; a time more than 12 h before the last one is the next day (the log ran past midnight). */
  private clock(hms: string): void {
    const [h, min, sec] = hms.split(":");
    let us = ((Number(h) * 60 + Number(min)) * 60) * 1e6 + Math.round(Number(sec) * 1e6) + this.days * DAY_US;
    if (us < this.lastUs - DAY_US / 2) {
      this.days++;
      us += DAY_US;
    }
    this.lastUs = us;
    this.emitter.at(us);
  }

  private table(pid: number): FdTable {
    let t = this.tables.get(pid);
    if (t === undefined) this.tables.set(pid, (t = { fds: new Map(), users: 1 }));
    return t;
  }

  private onMount(path: string): string | null {
    const m = this.o.mount.replace(/\/+$/, "");
    return path.startsWith(`${m}/`) ? path.slice(m.length) : null;
  }

  private syscall(pid: number, name: string, args: string, ret: number, retPath: string | undefined): void {
    for (const d of args.matchAll(DIRFD)) if (d[0].startsWith("AT_FDCWD")) this.cwd.set(pid, d[1]);
    switch (name) {
      case "open": case "openat": case "openat2": case "creat": return this.open(pid, name, args, ret, retPath);
      case "close": if (ret === 0 || ret === -1) this.closeFd(pid, Number(/^(\d+)/.exec(args)?.[1] ?? -1)); return;
      case "dup": case "dup2": case "dup3": if (ret >= 0) this.dup(pid, Number(/^(\d+)/.exec(args)?.[1] ?? -1), ret, /O_CLOEXEC/.test(args)); return;
      case "fcntl": return this.fcntl(pid, args, ret);
      case "clone": case "clone3": case "fork": case "vfork": if (ret > 0) this.fork(pid, ret, /CLONE_FILES/.test(args)); return;
      case "execve": case "execveat": if (ret === 0) this.exec(pid); return;
      case "unlink": case "unlinkat": if (ret === 0) this.unlink(this.pathArgs(pid, args)[0]); return;
      case "rename": case "renameat": case "renameat2": if (ret === 0) this.rename(...(this.pathArgs(pid, args) as [string, string])); return;
      default: return;
    }
  }

  /** The path arguments of a call, made absolute with their dirfd (or the caller's last seen cwd). */
  private pathArgs(pid: number, args: string): string[] {
    const dirs = [...args.matchAll(DIRFD)].map((d) => d[1]);
    const names = [...args.matchAll(STRING)].map((s) => stringText(s[0])!);
    return names.map((n, i) => resolvePath(dirs[i] ?? this.cwd.get(pid) ?? "/", n));
  }

  private open(pid: number, name: string, args: string, ret: number, retPath: string | undefined): void {
    const path = ret >= 0 && retPath !== undefined ? retPath : this.pathArgs(pid, args)[0];
    if (path === undefined) return;
    const fusePath = this.onMount(path);
    if (fusePath === null) return;
    const flagText = name === "creat" ? "O_WRONLY|O_CREAT|O_TRUNC" : (/(O_[A-Z_|]+)/.exec(args.replace(STRING, '""'))?.[1] ?? "O_RDONLY");
    const flags = flagText.split("|");
    // Only what reaches the daemon as OPEN or CREATE is an open: O_PATH sends nothing, and a directory (with
    // O_DIRECTORY or without) is an OPENDIR.
    if (flags.includes("O_PATH") || flags.includes("O_DIRECTORY") || this.directories.has(fusePath)) {
      if (ret >= 0) this.counts[flags.includes("O_PATH") ? "opathOpens" : "directoryOpens"]++;
      return;
    }
    if (ret < 0) {
      this.counts.failedOpens++;
      return;
    }
    const accmode = flags.map((f) => O_ACCMODE_NAMES[f]).find((v) => v !== undefined) ?? 0;
    let file = this.byPath.get(fusePath);
    if (file === undefined) {
      file = { id: ++this.files, version: 0, nodeid: -1, nopen: 0, unlinked: false };
      this.byPath.set(fusePath, file);
    } else if (flags.includes("O_TRUNC") && accmode !== 0) {
      file.version++;
    }
    if (file.nodeid < 0) file.nodeid = this.nodeids.take();
    const desc: Description = { refs: 1, file, fh: this.fhs.take() };
    file.nopen++;
    const table = this.table(pid);
    if (table.fds.has(ret)) this.closeFd(pid, ret);
    table.fds.set(ret, { desc, cloexec: flags.includes("O_CLOEXEC") });
    this.counts.opens++;
    this.emitter.push(OP_OPEN, file.nodeid, desc.fh, this.bref(file), accmode, FOPEN_PASSTHROUGH, pid);
  }

  private closeFd(pid: number, fd: number): void {
    const table = this.tables.get(pid);
    const entry = table?.fds.get(fd);
    if (entry === undefined) return;
    table!.fds.delete(fd);
    this.drop(entry.desc, pid);
  }

  private drop(desc: Description, pid: number): void {
    if (--desc.refs > 0) return;
    const file = desc.file;
    this.counts.releases++;
    this.emitter.push(OP_RELEASE, file.nodeid, desc.fh, 0, 0, 0, pid);
    this.fhs.give(desc.fh);
    if (--file.nopen === 0 && file.unlinked) this.forget(file);
  }

  private forget(file: FileObject): void {
    if (file.nodeid < 0) return;
    this.counts.forgets++;
    this.emitter.push(OP_FORGET, file.nodeid, 0, 0, 0, 0, 0);
    this.nodeids.give(file.nodeid);
    file.nodeid = -1;
  }

  private dup(pid: number, oldFd: number, newFd: number, cloexec: boolean): void {
    const table = this.table(pid);
    const entry = table.fds.get(oldFd);
    if (newFd === oldFd) return;
    if (table.fds.has(newFd)) this.closeFd(pid, newFd);
    if (entry === undefined) return;
    entry.desc.refs++;
    table.fds.set(newFd, { desc: entry.desc, cloexec });
  }

  private fcntl(pid: number, args: string, ret: number): void {
    const fd = Number(/^(\d+)/.exec(args)?.[1] ?? -1);
    if (/F_DUPFD/.test(args) && ret >= 0) this.dup(pid, fd, ret, /F_DUPFD_CLOEXEC/.test(args));
    else if (/F_SETFD/.test(args) && ret === 0) {
      const entry = this.tables.get(pid)?.fds.get(fd);
      if (entry) entry.cloexec = /FD_CLOEXEC/.test(args);
    }
  }

  private fork(parent: number, child: number, sharedFiles: boolean): void {
    const table = this.table(parent);
    const cwd = this.cwd.get(parent);
    if (cwd !== undefined) this.cwd.set(child, cwd);
    if (sharedFiles) {
      table.users++;
      this.tables.set(child, table);
      return;
    }
    const copy: FdTable = { fds: new Map(), users: 1 };
    for (const [fd, e] of table.fds) {
      e.desc.refs++;
      copy.fds.set(fd, { desc: e.desc, cloexec: e.cloexec });
    }
    this.tables.set(child, copy);
  }

  private exec(pid: number): void {
    const table = this.tables.get(pid);
    if (table === undefined) return;
    for (const [fd, e] of [...table.fds]) if (e.cloexec) this.closeFd(pid, fd);
  }

  private exit(pid: number): void {
    const table = this.tables.get(pid);
    this.tables.delete(pid);
    if (table === undefined || --table.users > 0) return;
    for (const e of table.fds.values()) this.drop(e.desc, pid);
    table.fds.clear();
  }

  private unlink(path: string | undefined): void {
    const fusePath = path === undefined ? null : this.onMount(path);
    if (fusePath === null) return;
    const file = this.byPath.get(fusePath);
    if (file === undefined) return;
    this.byPath.delete(fusePath);
    file.unlinked = true;
    if (file.nopen === 0) this.forget(file);
  }

  private rename(from: string | undefined, to: string | undefined): void {
    const a = from === undefined ? null : this.onMount(from);
    const b = to === undefined ? null : this.onMount(to);
    if (b !== null && b !== a) this.unlink(to);
    if (a === null) return;
    const file = this.byPath.get(a);
    if (file === undefined) return;
    this.byPath.delete(a);
    if (b !== null) this.byPath.set(b, file);
    else {
      file.unlinked = true;
      if (file.nopen === 0) this.forget(file);
    }
  }

  /** Files still open at the end of the log are released, so the trace ends closed. */
  finish(): void {
    const seen = new Set<FdTable>();
    for (const [pid, table] of this.tables) {
      if (seen.has(table)) continue;
      seen.add(table);
      for (const e of table.fds.values()) {
        if (e.desc.refs === 1) this.counts.openAtEnd++;
        this.drop(e.desc, pid);
      }
    }
    this.tables.clear();
    this.emitter.seal();
  }
}

/** `fbreplay ingest --from strace`: a workload's strace log of a FUSE mount. */
const FAILED_OPEN = /^(?:open|openat|openat2|creat)\(.*\)\s+=\s+-1\s+(E[A-Z0-9]+)\b/;

/** The open-family calls of a workload's strace that failed, by errno name (`{ EIO: 3 }`): what the workload saw. */
export async function failedOpens(log: string): Promise<Record<string, number>> {
  const resumptions = new Resumptions();
  const out: Record<string, number> = {};
  for await (const text of readLines(log)) {
    const { pid, body: line } = splitStraceLine(text);
    const body = resumptions.join(pid, line);
    if (body === null || body instanceof Error) continue;
    const m = FAILED_OPEN.exec(body);
    if (m) out[m[1]] = (out[m[1]] ?? 0) + 1;
  }
  return out;
}

/**
 * A call on an fd that only a directory can be: listing it, changing into it, or resolving a non-empty name against
 * it (an *at call; "" with AT_EMPTY_PATH is glibc's fstat of any file).
 */
const DIRECTORY_FD = /(?:\b(?:getdents64|getdents|fchdir)\(\d+<([^>]*)>)|(?:\b(?:\w+at2?|statx)\(\d+<([^>]*)>, "[^"])/g;
const ANNOTATED_PATH = /\d+<(\/[^>]*)>/g;

/**
 * The directories of the mount a workload's `strace -y` log shows, as paths under the mount ("/a/b"): every parent
 * of a path an fd was annotated with, every fd listed (getdents64), entered (fchdir) or used as a dirfd. A directory
 * of which the log shows none of these stays unknown: its opens without O_DIRECTORY count as opens.
 */
async function directoriesOf(log: string, mount: string): Promise<Set<string>> {
  const m = mount.replace(/\/+$/, "");
  const dirs = new Set<string>();
  const add = (path: string) => {
    if (path === m) return dirs.add("/");
    if (path.startsWith(`${m}/`)) dirs.add(path.slice(m.length));
  };
  for await (const text of readLines(log)) {
    for (const a of text.matchAll(ANNOTATED_PATH)) {
      for (let p = a[1], i = p.lastIndexOf("/"); i > 0; p = p.slice(0, i), i = p.lastIndexOf("/")) add(p.slice(0, i));
    }
    for (const d of text.matchAll(DIRECTORY_FD)) add(d[1] ?? d[2]);
  }
  return dirs;
}

export async function ingestStrace(o: StraceIngestOptions): Promise<IngestSummary> {
  let writer: TraceWriter;
  try {
    writer = await TraceWriter.create(o.output, {
      source: {
        format: "strace", log: basename(o.log), mount: o.mount,
        identity: "synthetic: one backing inode per file, one digest per content version",
        fopen: "FOPEN_PASSTHROUGH on every open",
        clock: "strace -tt timestamps, from the first event",
      },
      workload: o.workload ?? `strace log ${basename(o.log)}`,
      recorder: o.recorder ?? { name: "fbreplay ingest", version: "1" },
      host_kernel: o.hostKernel ?? "",
      created: new Date().toISOString(),
    });
  } catch (e) {
    throw new IngestError(`${o.output}: cannot create the trace: ${(e as Error).message}`);
  }
  const brefs = new Map<string, number>();
  const bref = (file: FileObject) => {
    const key = `${file.id}:${file.version}`;
    let b = brefs.get(key);
    if (b === undefined) {
      const digest = ownDigest(`fbreplay strace ${key}`);
      b = writer.addBacking([{ dev: 0, ino: file.id, digest, size: 0, path: "" }]);
      brefs.set(key, b);
    }
    return b;
  };
  try {
    const machine = new StraceMachine(o, bref, await directoriesOf(o.log, o.mount).catch(() => new Set<string>()));
    let lineNo = 0;
    try {
      for await (const text of readLines(o.log)) {
        machine.line(++lineNo, text);
        for (const chunk of machine.emitter.ready.splice(0)) await writer.writeChunk(chunk);
      }
    } catch (e) {
      if (e instanceof IngestError) throw e;
      throw new IngestError(`${o.log}: cannot read the log: ${(e as Error).message}`);
    }
    machine.finish();
    for (const chunk of machine.emitter.ready.splice(0)) await writer.writeChunk(chunk);
    const backingFiles = writer.backingFiles;
    await writer.close();
    const c = machine.counts;
    return { ...c, ...NO_BACKING_IDS, releases: c.releases - c.openAtEnd, events: machine.emitter.events, backingFiles };
  } catch (e) {
    await writer.abort();
    throw e;
  }
}
