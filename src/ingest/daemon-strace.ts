// A FUSE daemon's own strace (`strace -f -tt -v -y [-s 256] -o FILE DAEMON …`) → what the daemon did for each
// request, by `unique`, for `fbreplay ingest --from libfuse-debug LOG --daemon-strace FILE`.
//
// What the strace shows, and what we take from it:
// - each request the daemon reads from /dev/fuse: `read(fd</dev/fuse>, "…"…, N) = LEN`. strace prints the first
//   32 bytes by default, which hold the fuse_in_header's opcode, unique and nodeid;
// - each reply it writes: `writev(fd</dev/fuse>, [{iov_base="…", iov_len=16}, {iov_base="…", …}], 2)` or `write`.
//   An OPEN reply's fuse_open_out (fh, open_flags, backing_id) fits the default 32 bytes; a CREATE reply's comes
//   after the 128-byte entry and needs `-s 256`;
// - the daemon's files: `openat(…) = fd<path>` (with -y), dup, close, and the stat family (st_dev/st_ino, with -v);
// - its passthrough registrations: `ioctl(fd</dev/fuse>, _IOC(_IOC_WRITE, 0xe5, 0x1, 0x10), …) = ID`
//   (FUSE_DEV_IOC_BACKING_OPEN) and `0xe5, 0x2` (BACKING_CLOSE, whose id strace does not show).
// A system call belongs to the request its thread read last and has not replied to yet, which is exact for
// libfuse's worker threads (each handles one request from read to reply).
import { ID_MAX_DEFAULT } from "../abi.js";
import { DaemonFiles, FD_ARG, OPENS, type DaemonFile } from "./daemon-files.js";
import { readLines } from "./lines.js";
import { Resumptions, closingParen, splitArgs, splitStraceLine, stringArg } from "./strace-syntax.js";

export const FUSE_OPEN = 14;
export const FUSE_CREATE = 35;
/** sizeof(struct fuse_out_header) and sizeof(struct fuse_entry_out): where a reply's fuse_open_out starts. */
const OUT_HEADER = 16;
const ENTRY_OUT = 128;
/** Reply bytes kept per write: enough for a CREATE reply's fuse_open_out. */
const REPLY_BYTES = OUT_HEADER + ENTRY_OUT + 16;

/** What the daemon did for one request (only OPEN/CREATE requests and those that made ioctls are kept). */
export interface DaemonRequest {
  opcode: number;
  /** The reply's error (0: success); undefined when no reply was seen. */
  error?: number;
  /** CREATE replies: the new file's nodeid (fuse_entry_out), which low-level debug logs do not print. */
  entryNodeid?: string;
  /** OPEN/CREATE replies: the fh, open_flags and backing_id of fuse_open_out, where strace showed those bytes. */
  fh?: bigint;
  openFlags?: number;
  backingId?: number;
  /** OPEN/CREATE: the file behind the reply's fh, else the last file the thread opened while handling the request. */
  file?: DaemonFile;
  /** Ids FUSE_DEV_IOC_BACKING_OPEN returned while the daemon handled this request, in order. */
  registered: number[];
  /** The file each registration registered, where it differs from `file` (ids by order: ioctl-order.ts). */
  registeredFiles?: (DaemonFile | undefined)[];
  /** FUSE_DEV_IOC_BACKING_CLOSE calls made while handling it (strace does not show which id). */
  closes: number;
}

export interface DaemonStraceCounts {
  lines: number;
  malformed: number;
  firstMalformed?: { line: number; text: string; reason: string };
  /** Requests read from /dev/fuse whose header strace showed. */
  requests: number;
  replies: number;
  /** OPEN/CREATE replies whose fuse_open_out was cut off (CREATE needs -s 256). */
  truncatedOpenReplies: number;
  backingOpens: number;
  backingCloses: number;
  /** ioctls made outside any request (a start-up probe): they go with the next request their thread reads. */
  backingOutsideRequests: number;
}

/** A successful FUSE_DEV_IOC_BACKING_OPEN, in the strace's order: the id, its thread, the file it registered. */
export interface BackingIoctl {
  id: number;
  tid: number;
  /** The file the thread opened last before the ioctl (the backing fd it passes), where strace -y showed it. */
  file?: DaemonFile;
}

export interface DaemonStrace {
  requests: Map<string, DaemonRequest>;
  counts: DaemonStraceCounts;
  /** Every successful BACKING_OPEN: what ids-by-order pairs with the log when no /dev/fuse traffic was traced. */
  ioctls: BackingIoctl[];
}

export interface DaemonStraceOptions {
  strict: boolean;
  fail: (line: number, reason: string) => Error;
}

const CALL = /^([a-z_0-9]+)\(/;
/** `= 8</tmp/src/a.txt>`, `= 0`, `= -1 ENOENT (No such file or directory)`, `= 1 (SUID_DUMP_USER)`, `= ?`. */
const RESULT = /^\s*=\s*(-?\d+|0x[0-9a-f]+|\?)(?:<(.*)>)?(?:\s.*)?$/;
const BACKING_OPEN_IOCTL = /^(?:_IOC\(_IOC_WRITE, 0xe5, 0x1, 0x10\)|FUSE_DEV_IOC_BACKING_OPEN)$/;
const BACKING_CLOSE_IOCTL = /^(?:_IOC\(_IOC_WRITE, 0xe5, 0x2, 0x4\)|FUSE_DEV_IOC_BACKING_CLOSE)$/;

interface Thread {
  /** The request this thread read last and has not replied to. */
  current?: { unique: string; opcode: number };
  /** The last file it opened while handling `current`. */
  lastOpened?: string;
  /** Registrations and closes it made outside any request (at start-up): they go with its next request. */
  prelude?: { registered: number[]; closes: number };
  /** The last file it opened, request or not (the fd a BACKING_OPEN passes is opened just before). */
  opened?: string;
}

/** Reads a daemon's strace; bad lines are counted (or, strict, thrown as `FILE:LINE: reason`). */
export async function readDaemonStrace(path: string, o: DaemonStraceOptions, onBytes?: (n: number) => void): Promise<DaemonStrace> {
  const r = new DaemonStraceReader(o);
  let lineNo = 0;
  for await (const line of readLines(path, onBytes)) r.line(line, ++lineNo);
  return { requests: r.requests, counts: r.counts, ioctls: r.ioctls };
}

class DaemonStraceReader {
  readonly counts: DaemonStraceCounts = {
    lines: 0, malformed: 0, requests: 0, replies: 0, truncatedOpenReplies: 0, backingOpens: 0, backingCloses: 0, backingOutsideRequests: 0,
  };
  readonly requests = new Map<string, DaemonRequest>();
  readonly ioctls: BackingIoctl[] = [];
  /** OPEN and CREATE requests waiting for their reply, by unique. */
  private readonly opcodes = new Map<string, number>();
  private readonly threads = new Map<number, Thread>();
  private readonly resumptions = new Resumptions();
  /** The daemon's files: what its fds and paths name. */
  private readonly files = new DaemonFiles();
  private lineNo = 0;
  private text = "";

  constructor(private readonly o: DaemonStraceOptions) {}

  line(text: string, lineNo: number): void {
    this.counts.lines++;
    this.lineNo = lineNo;
    this.text = text;
    const { pid: tid, body } = splitStraceLine(text);
    if (body.startsWith("+++") || body.startsWith("---") || body.trim() === "") return; // exits and signals
    const rest = this.resumptions.join(tid, body);
    if (rest === null) return;
    if (rest instanceof Error) return this.malformed(rest.message);
    const thread = this.thread(tid);
    const call = CALL.exec(rest);
    if (!call) return this.malformed("not a strace system call line");
    const close = closingParen(rest, call[0].length);
    if (close < 0) return this.malformed("unbalanced arguments");
    const result = RESULT.exec(rest.slice(close + 1));
    if (!result) return this.malformed("no result after the arguments");
    const args = splitArgs(rest.slice(call[0].length, close));
    const ret = result[1] === "?" ? NaN : Number(result[1]);
    this.syscall(call[1], args, ret, result[2], thread, tid);
  }

  private thread(tid: number): Thread {
    let t = this.threads.get(tid);
    if (t === undefined) this.threads.set(tid, (t = {}));
    return t;
  }

  private malformed(reason: string): void {
    this.counts.malformed++;
    const text = this.text;
    this.counts.firstMalformed ??= { line: this.lineNo, text: text.length > 200 ? `${text.slice(0, 200)}…` : text, reason };
    if (this.o.strict) throw this.o.fail(this.lineNo, reason);
  }

  private syscall(name: string, args: string[], ret: number, retPath: string | undefined, thread: Thread, tid: number): void {
    const fd = FD_ARG.exec(args[0] ?? "");
    const onFuse = fd?.[2] === "/dev/fuse" || (fd?.[2] ?? "").startsWith("/dev/fuse");
    if (onFuse && (name === "read" || name === "readv") && ret > 0) return this.request(args, thread);
    if (onFuse && (name === "write" || name === "writev") && ret > 0) return this.reply(name, args, thread);
    if (onFuse && name === "ioctl") return this.ioctl(args[1] ?? "", ret, thread, tid);
    if (OPENS.has(name) && ret >= 0 && retPath !== undefined) {
      thread.opened = retPath;
      if (thread.current !== undefined) thread.lastOpened = retPath;
    }
    this.files.syscall(name, args, ret, retPath, fd);
  }

  /** A request header: opcode (bytes 4–7), unique (8–15), nodeid (16–23) of struct fuse_in_header. */
  private request(args: string[], thread: Thread): void {
    const bytes = stringArg(args[1] ?? "");
    if (bytes === null) return this.malformed("a read from /dev/fuse without its bytes (strace -s too small, or -e raw?)");
    if (bytes.length < 16) return this.malformed("a read from /dev/fuse shows fewer than 16 bytes of the request header");
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const opcode = view.getUint32(4, true);
    const unique = view.getBigUint64(8, true).toString();
    this.counts.requests++;
    thread.current = { unique, opcode };
    thread.lastOpened = undefined;
    if (thread.prelude !== undefined) {
      const req = this.requestOf(unique, opcode);
      req.registered.push(...thread.prelude.registered);
      req.closes += thread.prelude.closes;
      thread.prelude = undefined;
    }
    // Only their replies are read; requests with no reply (FORGET) must not pile up here.
    if (opcode === FUSE_OPEN || opcode === FUSE_CREATE) this.opcodes.set(unique, opcode);
  }

  private reply(name: string, args: string[], thread: Thread): void {
    const bytes = name === "writev" ? iovecArg(args[1] ?? "") : paddedString(args[1] ?? "");
    if (bytes === null) return this.malformed(`a ${name} to /dev/fuse without its bytes`);
    const unique = u64(bytes, 8);
    if (unique === undefined) return this.malformed(`a ${name} to /dev/fuse shows fewer than 16 bytes of the reply header`);
    if (unique === 0n) return; // a notification
    const key = unique.toString();
    this.counts.replies++;
    const opcode = this.opcodes.get(key);
    this.opcodes.delete(key);
    const errorBits = u32(bytes, 4) ?? 0;
    const error = errorBits | 0;
    for (const t of this.threads.values()) if (t.current?.unique === key) t.current = undefined;
    if (opcode !== FUSE_OPEN && opcode !== FUSE_CREATE) return;
    const req = this.requestOf(key, opcode);
    req.error = error;
    if (error !== 0) return;
    if (opcode === FUSE_CREATE) req.entryNodeid = u64(bytes, OUT_HEADER)?.toString();
    const at = OUT_HEADER + (opcode === FUSE_CREATE ? ENTRY_OUT : 0);
    const fh = u64(bytes, at);
    const openFlags = u32(bytes, at + 8);
    const backingId = u32(bytes, at + 12);
    if (fh === undefined || openFlags === undefined || backingId === undefined) this.counts.truncatedOpenReplies++;
    req.fh = fh;
    req.openFlags = openFlags;
    if (backingId !== undefined && backingId > ID_MAX_DEFAULT) {
      // The kernel's ids are 1 … INT_MAX (spec §a.1): a reply naming another is not one a trace can replay.
      this.malformed(`an open reply's backing_id ${backingId} is beyond the idr's ${ID_MAX_DEFAULT}`);
      req.backingId = undefined;
    } else {
      req.backingId = backingId;
    }
    req.file = this.files.behind(fh, thread.lastOpened);
  }

  private ioctl(request: string, ret: number, thread: Thread, tid: number): void {
    const open = BACKING_OPEN_IOCTL.test(request);
    if (!open && !BACKING_CLOSE_IOCTL.test(request)) return;
    if (!(ret >= 0)) return; // refused: nothing registered or closed
    if (ret > ID_MAX_DEFAULT) return this.malformed(`FUSE_DEV_IOC_BACKING_OPEN returned ${ret}, beyond the idr's ${ID_MAX_DEFAULT}`);
    const current = thread.current;
    let req: { registered: number[]; closes: number };
    if (current === undefined) {
      this.counts.backingOutsideRequests++;
      req = thread.prelude ??= { registered: [], closes: 0 };
    } else {
      req = this.requestOf(current.unique, current.opcode);
    }
    if (open) {
      this.counts.backingOpens++;
      req.registered.push(ret);
      this.ioctls.push({ id: ret, tid, file: this.files.behind(undefined, thread.opened) });
    } else {
      this.counts.backingCloses++;
      req.closes++;
    }
  }

  private requestOf(unique: string, opcode: number): DaemonRequest {
    let req = this.requests.get(unique);
    if (req === undefined) this.requests.set(unique, (req = { opcode, registered: [], closes: 0 }));
    return req;
  }
}

/** A write's string argument, as bytes with unknown (cut off) ones undefined. */
function paddedString(arg: string): (number | undefined)[] | null {
  const bytes = stringArg(arg);
  return bytes === null ? null : Array.from(bytes.subarray(0, REPLY_BYTES));
}

/** The bytes of a writev's `[{iov_base="…", iov_len=N}, …]`, each iovec at its offset; cut-off bytes undefined. */
function iovecArg(arg: string): (number | undefined)[] | null {
  if (!arg.startsWith("[")) return null;
  const out: (number | undefined)[] = [];
  for (const iov of splitArgs(arg.slice(1, arg.lastIndexOf("]")))) {
    const base = /iov_base=("(?:[^"\\]|\\.)*")/.exec(iov);
    const len = /iov_len=(\d+)/.exec(iov);
    if (!base || !len) return null;
    const bytes = stringArg(base[1])!;
    const n = Number(len[1]);
    for (let k = 0; k < n && out.length < REPLY_BYTES; k++) out.push(k < bytes.length ? bytes[k] : undefined);
    if (out.length >= REPLY_BYTES) break;
  }
  return out;
}

function u32(b: (number | undefined)[], at: number): number | undefined {
  let v = 0;
  for (let k = 3; k >= 0; k--) {
    const x = b[at + k];
    if (x === undefined) return undefined;
    v = v * 256 + x;
  }
  return v;
}

function u64(b: (number | undefined)[], at: number): bigint | undefined {
  const lo = u32(b, at);
  const hi = u32(b, at + 4);
  return lo === undefined || hi === undefined ? undefined : (BigInt(hi) << 32n) | BigInt(lo);
}
