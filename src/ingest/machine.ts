// The log → events state machine: one instance reads one pass over the log, line by line, and emits trace rows.
//
// What it tracks, and why:
// - Requests pending a reply, by `unique`: multithreaded daemons interleave requests, and an operation happened
//   only if its reply says success. Lines between a header and its reply (high-level libfuse only) belong to the
//   most recent pending request they can belong to, which is exact for single-threaded daemons and a best guess
//   for multithreaded ones.
// - Inode instances: a daemon nodeid is looked up (each successful LOOKUP/CREATE/MKNOD/MKDIR/SYMLINK/LINK reply
//   naming it in a `NODEID:` line adds one) and forgotten (`FORGET n/count` subtracts); at zero the instance
//   ends, and a later lookup of the same nodeid is a new instance, as in the kernel. Instances get compact trace
//   nodeids at their first open, reused after their FORGET.
// - Open files: daemon fh → compact trace fh slot, reused after release (bindfs fhs are fd numbers).
// - Backing ids, where the capture shows them (passthrough_hp's lines, or the daemon's strace): each registration
//   is a BACKING_OPEN row before the open that named it, each open row carries the id of its reply (column `bid`;
//   an open the daemon did not pass through has FOPEN flags 0), each close with a known id is a BACKING_CLOSE row
//   after the RELEASE it was made in.
import { FOPEN_PASSTHROUGH, OP_BACKING_CLOSE, OP_BACKING_OPEN, OP_FORGET, OP_OPEN, OP_RELEASE } from "../abi.js";
import { emptyColumns } from "../events.js";
import { chunkFromColumns, type TraceChunk } from "../trace/index.js";
import type { DaemonFile, DaemonRequest } from "./daemon-strace.js";
import { parseLine, splitPaths, type LogLine } from "./parse.js";
import { PathTracker } from "./paths.js";

export const O_TRUNC = 0o1000;
/** Flags recorded for opens whose flags the log does not show (low-level logs): read-only, or O_RDWR|O_CREAT. */
export const UNKNOWN_OPEN_FLAGS = 0;
export const UNKNOWN_CREATE_FLAGS = 0o102;

/**
 * Most requests pending a reply that a log may hold at once. The kernel has at most a few hundred FUSE requests in
 * flight (max_background, and one per blocked thread); beyond this bound a log is damaged, and the oldest are dropped.
 */
export const MAX_PENDING = 4096;

/** Opcodes whose reply is an entry (the kernel counts one lookup of the nodeid it names). */
const ENTRY_OPCODES = new Set(["LOOKUP", "CREATE", "MKNOD", "MKDIR", "SYMLINK", "LINK"]);

/** What one pass over a log found. */
export interface Counts {
  lines: number;
  malformed: number;
  firstMalformed?: { line: number; text: string; reason: string };
  /** Request headers (libfuse) or system calls (strace) in the log. */
  requests: number;
  /** Successful OPEN and CREATE replies (or opens): OP_OPEN events. */
  opens: number;
  /** strace of a workload: successful opens that send the daemon no OPEN/CREATE (O_PATH; directories: OPENDIR). */
  opathOpens?: number;
  directoryOpens?: number;
  /** RELEASEs matched to an open: OP_RELEASE events (besides the openAtEnd ones). */
  releases: number;
  failedOpens: number;
  /** Inode instances ended with an OP_FORGET (only instances the trace opened are named). */
  forgets: number;
  events: number;
  /** RELEASEs of an fh (or nodeid) with no successful open: not emitted. */
  unmatchedReleases: number;
  /**
   * Low-level logs (no fh): RELEASEs that more than one open file of the nodeid could be, by what the kernel does;
   * paired with the oldest, as a release of a file held open would be (so never more refusals than the kernel's).
   */
  ambiguousReleases?: number;
  /** Files open when the log ends: an OP_RELEASE was appended for each. */
  openAtEnd: number;
  /** Opens whose reply's backing id the capture shows (passthrough_hp lines or the daemon's strace). */
  recordedOpens: number;
  /** The daemon's FUSE_DEV_IOC_BACKING_OPEN / _CLOSE calls in the trace (BACKING_OPEN / BACKING_CLOSE rows). */
  backingOpens: number;
  backingCloses: number;
  /** BACKING_CLOSE calls whose id neither the log nor the strace shows: not in the trace. */
  unknownBackingCloses: number;
  /** Successful OPEN/CREATE requests the daemon's strace does not show (with a daemon strace only). */
  notInDaemonStrace: number;
}

/** The backing-id counts of a capture that shows none. */
export const NO_BACKING_IDS = { recordedOpens: 0, backingOpens: 0, backingCloses: 0, unknownBackingCloses: 0, notInDaemonStrace: 0 } as const;

/** What an open knows to pick its backing file version. */
export interface OpenContext {
  unique: string;
  /** The fuse path at open time (high-level logs), else undefined. */
  path?: string;
  /** The file object (PathTracker id) the path named, -1 without a path. */
  object: number;
  /** Stable id of the inode instance: the identity of last resort for opens without a path. */
  instance: number;
  /** The file behind the daemon's reply, from its strace. */
  daemonFile?: DaemonFile;
}

export interface MachineOptions {
  /** Path and line number go into malformed-line errors. */
  log: string;
  strict: boolean;
  chunkRows: number;
  /** The bref of the backing version this open passes through to; undefined: a dry pass, nothing is emitted. */
  backing?: (open: OpenContext) => number;
  /** Throws the error for a malformed line in strict mode. */
  fail: (line: number, reason: string) => Error;
  /** What the daemon's strace shows it did, by unique. */
  daemon?: Map<string, DaemonRequest>;
  /**
   * The strace shows a passthrough daemon (it registered backing files): its open replies' ids are what happened.
   * Otherwise (bindfs) every reply says id 0, and the trace keeps asking what passthrough of every open would do.
   */
  daemonPassthrough?: boolean;
}

interface Request {
  unique: string;
  opcode: string;
  nodeid: string;
  pid: number;
  /** From `open flags:` / `create flags:` lines. */
  flags?: number;
  path?: string;
  /** The daemon's fh, from `open[fh]` / `create[fh]`. */
  fh?: string;
  /** The nodeid of an entry reply, from `NODEID: n`. */
  entry?: string;
  /** RELEASE: the file was already released from its `release[fh]` line. */
  released?: boolean;
  /** RELEASE without an fh in the log: the file the kernel's behaviour says it releases, chosen at its header. */
  releases?: OpenFile;
  /** unlink / rename / link lines seen while this request was the latest: applied when it succeeds. */
  pathOps?: LogLine[];
  /** Backing ids registered while the daemon handled it, the id its open reply names, and the ids it closed. */
  registered?: number[];
  replyId?: number;
  closed?: number[];
}

interface Instance {
  id: number;
  /** Daemon nodeid, null for a low-level CREATE whose nodeid the log does not show (until a RELEASE binds it). */
  nodeid: string | null;
  lookups: number;
  /** Trace nodeid, -1 until the first open. */
  slot: number;
  nopen: number;
  /** nlookup reached zero; the FORGET is emitted once no file of it is open. */
  ended: boolean;
}

interface OpenFile {
  fh: number;
  inst: Instance;
  daemonFh: string;
  /** The opener (the OPEN's header pid: a thread id). */
  pid: number;
  /** The opener made another request after this open's reply: its open returned, the kernel accepted it. */
  active: boolean;
  /** The OPEN row, while it waits for the kernel's check to be certainly done (see deferOpen). */
  row?: () => void;
  /** The order of the FLUSH this file's close sent (attributed by pid), 0 before any. */
  flushed: number;
}

/** Compact ids 0, 1, … with reuse of freed ones (lowest-numbered reuse is not needed, LIFO is fine). */
export class SlotAllocator {
  private next = 0;
  private readonly free: number[] = [];
  take(): number {
    return this.free.pop() ?? this.next++;
  }
  give(slot: number): void {
    this.free.push(slot);
  }
}

/**
 * Event rows into chunks of `rows`; full chunks wait in `ready` for the writer. Time: the first event at 0, then
 * 1 µs per event, or, for logs with timestamps, the time given to `at()` (never backwards).
 */
export class Emitter {
  events = 0;
  /** µs of the last row since the first; the clock's origin (the first row's timestamp), when timestamps are given. */
  private t = 0;
  private origin: number | undefined;
  private stamp: number | undefined;
  private chunkT0 = 0;
  readonly ready: TraceChunk[] = [];
  private chunk: TraceChunk;
  private n = 0;
  private bid: Uint32Array;
  /** The chunk names backing ids: it gets the `bid` column. */
  private hasBid = false;

  constructor(private readonly rows: number, private readonly dry: boolean) {
    this.chunk = this.fresh();
    this.bid = new Uint32Array(dry ? 0 : rows);
  }

  push(op: number, nodeid: number, fh: number, bref: number, oflags: number, fopen: number, pid: number, bid = 0): void {
    this.events++;
    if (this.dry) return;
    const c = this.chunk;
    const i = this.n++;
    this.bid[i] = bid;
    if (bid !== 0) this.hasBid = true;
    let t: number;
    if (this.stamp === undefined) t = this.events === 1 ? 0 : this.t + 1;
    else {
      this.origin ??= this.stamp - this.t;
      t = this.t + Math.min(Math.max(0, this.stamp - this.origin - this.t), 0xffffffff);
    }
    if (i === 0) this.chunkT0 = t;
    c.op[i] = op;
    c.nodeid[i] = nodeid;
    c.fh[i] = fh;
    c.bref[i] = bref;
    c.oflags[i] = oflags;
    c.fopen[i] = fopen;
    c.pid[i] = pid;
    c.dt[i] = t - this.t;
    this.t = t;
    if (this.n === this.rows) this.seal();
  }

  /** Moves the rows so far into `ready`. */
  seal(): void {
    if (this.n === 0) return;
    const n = this.n;
    const c = this.chunk;
    this.ready.push({
      length: n, t0: this.chunkT0,
      op: c.op.subarray(0, n), nodeid: c.nodeid.subarray(0, n), fh: c.fh.subarray(0, n), bref: c.bref.subarray(0, n),
      oflags: c.oflags.subarray(0, n), fopen: c.fopen.subarray(0, n), pid: c.pid.subarray(0, n), dt: c.dt.subarray(0, n),
      ...(this.hasBid ? { bid: this.bid.slice(0, n) } : {}),
    });
    this.chunk = this.fresh();
    this.n = 0;
    this.hasBid = false;
  }

  /** The timestamp (µs, any origin) of the rows pushed from now on. */
  at(us: number): void {
    this.stamp = us;
  }

  private fresh(): TraceChunk {
    const rows = this.dry ? 0 : this.rows;
    return chunkFromColumns(emptyColumns(rows), new Uint32Array(rows), new Uint32Array(rows));
  }
}

export class Machine {
  readonly counts: Counts = {
    lines: 0, malformed: 0, requests: 0, opens: 0, releases: 0, failedOpens: 0, forgets: 0, events: 0,
    unmatchedReleases: 0, openAtEnd: 0, ...NO_BACKING_IDS,
  };
  /** Identities for registrations not made by an open row (instances of their own, below 0). */
  private strayRegistrations = 0;
  readonly paths = new PathTracker();
  readonly emitter: Emitter;

  private readonly pending = new Map<string, Request>();
  /** Pending requests in arrival order: detail lines go to the latest one that can own them. */
  private readonly recent: Request[] = [];
  /** The current instance of each daemon nodeid. */
  private readonly instances = new Map<string, Instance>();
  private instanceIds = 0;
  private readonly byFh = new Map<string, OpenFile>();
  /** Open files per daemon nodeid, oldest first: how low-level RELEASEs (no fh in the log) are matched. */
  private readonly byNodeid = new Map<string, OpenFile[]>();
  /** Files whose opener has made no request since the open's reply, by opener pid. */
  private readonly silentOpeners = new Map<number, OpenFile[]>();
  private flushes = 0;
  /** Files from low-level CREATEs, whose nodeid the log does not show, oldest first. */
  private readonly unbound: OpenFile[] = [];
  private syntheticFh = 0;
  private readonly nodeSlots = new SlotAllocator();
  private readonly fhSlots = new SlotAllocator();
  /** A FORGET request header whose `FORGET n/count` line may follow (high-level) or not (low-level). */
  private pendingForget: { nodeid: string | null; seen: boolean } | null = null;
  /** The line being read, for malformed-line reports from deeper down. */
  private lineNo = 0;
  private text = "";

  constructor(private readonly o: MachineOptions) {
    this.emitter = new Emitter(o.chunkRows, o.backing === undefined);
  }

  line(text: string, lineNo: number): void {
    this.counts.lines++;
    this.lineNo = lineNo;
    this.text = text;
    const l = parseLine(text);
    if (l.kind === "request" || l.kind === "reply") this.settleForget();
    switch (l.kind) {
      case "request": return this.request(l, lineNo);
      case "reply": return this.reply(l, lineNo, text);
      case "open":
      case "create": return this.openLine(l, lineNo, text);
      case "release": return this.releaseLine(l.fh, lineNo, text);
      case "nodeid": return this.nodeidLine(l.nodeid, lineNo, text);
      case "forget":
        if (this.pendingForget !== null) this.pendingForget.seen = true;
        return this.forget(l.nodeid, l.count);
      case "delete":
        // The library dropped the node: whatever count the log let us keep, the nodeid is free for another file.
        if (this.instances.has(l.nodeid)) this.forget(l.nodeid, null);
        return;
      case "unlink":
      case "rename":
      case "link": {
        // Printed before the operation runs; it happened only if the request that printed it succeeds. libfuse 2
        // also renames inside UNLINK and RENAME (to .fuse_hidden… when the target is open) and unlinks inside
        // RELEASE, so these go to whichever request is latest.
        const req = this.recent[this.recent.length - 1];
        if (req !== undefined) (req.pathOps ??= []).push(l);
        return;
      }
      case "backing": return this.backingLine(l, lineNo, text);
      case "malformed": return this.malformed(lineNo, text, l.reason);
      case "other": return;
    }
  }

  /** passthrough_hp's account of a backing id, printed while it handles the OPEN/CREATE or RELEASE. */
  private backingLine(l: Extract<LogLine, { kind: "backing" }>, lineNo: number, text: string): void {
    if (l.action === "closed") {
      const req = this.latest((r) => r.opcode === "RELEASE" && r.nodeid === l.inode) ?? this.latest(() => true);
      if (req === undefined) return this.backingClose(l.id, 0);
      (req.closed ??= []).push(l.id);
      return;
    }
    // A CREATE's header names the parent directory, not the inode of the line.
    const req = this.latest((r) => r.opcode === "CREATE" || (r.opcode === "OPEN" && r.nodeid === l.inode));
    if (req === undefined) return this.malformed(lineNo, text, `passthrough_hp ${l.action} line outside a pending OPEN or CREATE of inode ${l.inode}`);
    if (l.action === "setup") (req.registered ??= []).push(l.id);
    req.replyId = l.id;
    if (req.opcode === "CREATE") req.entry ??= l.inode; // the new file's nodeid, which low-level logs do not print
  }

  /**
   * Fills in what the daemon's strace shows for `req` where the log did not say it. Ids closed in the strace
   * alone are unknown (strace prints the ioctl's pointer), and counted.
   */
  private fromDaemon(req: Request): DaemonRequest | undefined {
    const d = this.o.daemon?.get(req.unique);
    if (d === undefined) return undefined;
    if (req.registered === undefined && d.registered.length > 0) req.registered = [...d.registered];
    if (req.replyId === undefined && d.error === 0 && this.o.daemonPassthrough) {
      req.replyId = d.backingId ?? (d.registered.length === 1 ? d.registered[0] : undefined);
    }
    if (req.opcode === "CREATE" && d.error === 0) req.entry ??= d.entryNodeid;
    if (req.closed === undefined) this.counts.unknownBackingCloses += d.closes;
    return d;
  }

  private backingOpen(id: number, bref: number, pid: number): void {
    this.counts.backingOpens++;
    this.emitter.push(OP_BACKING_OPEN, 0, 0, bref, 0, 0, pid, id);
  }

  private backingClose(id: number, pid: number): void {
    this.counts.backingCloses++;
    this.emitter.push(OP_BACKING_CLOSE, 0, 0, 0, 0, 0, pid, id);
  }

  /** End of log: pending releases happen, files still open are released (counted in openAtEnd). */
  finish(): void {
    this.settleForget();
    for (const req of this.recent) {
      if (req.opcode === "RELEASE" && !req.released) this.releaseByNodeid(req);
      for (const id of req.closed ?? []) this.backingClose(id, req.pid);
    }
    for (const file of this.byFh.values()) this.emitOpen(file);
    for (const file of [...this.byFh.values()]) {
      this.counts.openAtEnd++;
      this.close(file, 0);
    }
    this.emitter.seal();
    this.counts.events = this.emitter.events;
  }

  private malformed(line: number, text: string, reason: string): void {
    this.counts.malformed++;
    this.counts.firstMalformed ??= { line, text: text.length > 200 ? `${text.slice(0, 200)}…` : text, reason };
    if (this.o.strict) throw this.o.fail(line, reason);
  }

  private request(l: Extract<LogLine, { kind: "request" }>, lineNo: number): void {
    this.counts.requests++;
    // FORGET and BATCH_FORGET get no reply.
    if (l.opcode === "FORGET" || l.opcode === "BATCH_FORGET") {
      this.pendingForget = { nodeid: l.opcode === "FORGET" ? l.nodeid : null, seen: false };
      return;
    }
    if (this.pending.has(l.unique)) {
      this.malformed(lineNo, `unique: ${l.unique}`, `unique ${l.unique} reused while its request is pending`);
      this.drop(this.pending.get(l.unique)!);
    }
    if (this.recent.length >= MAX_PENDING) this.expireOldest(lineNo);
    const req: Request = { unique: l.unique, opcode: l.opcode, nodeid: l.nodeid, pid: l.pid };
    this.openerActive(l.pid);
    if (l.opcode === "FLUSH") this.flush(l.nodeid, l.pid);
    if (l.opcode === "RELEASE") req.releases = this.releasedFile(l.nodeid);
    this.pending.set(l.unique, req);
    this.recent.push(req);
  }

  /** A request from `pid`: the opens it made before have returned (a refused open's RELEASE comes before that). */
  private openerActive(pid: number): void {
    if (pid === 0) return;
    const files = this.silentOpeners.get(pid);
    if (files === undefined) return;
    for (const f of files) {
      f.active = true;
      this.emitOpen(f);
    }
    this.silentOpeners.delete(pid);
  }

  /**
   * A FLUSH of `nodeid` by `pid` (a close of a descriptor; the log shows no fh): the file that pid opened last. A
   * FLUSH by another process is the close of an inherited descriptor (a child of the shell that holds the file
   * exiting): it says nothing about which file is released next, and is left unattributed.
   */
  private flush(nodeid: string, pid: number): void {
    const file = (this.byNodeid.get(nodeid) ?? []).filter((f) => f.flushed === 0 && f.pid === pid).pop();
    if (file !== undefined) file.flushed = ++this.flushes;
  }

  /**
   * Which open file of `nodeid` a RELEASE without fh releases, by the kernel's behaviour (spec §b.3): a file
   * whose descriptor was closed (a FLUSH came) goes first, the earliest closed; else an open the kernel refused,
   * released before its opener's open returned: unflushed, and its opener silent since the reply. Where several
   * fit (the newest is taken), or none (the oldest), the choice is counted as ambiguous.
   */
  private releasedFile(nodeid: string): OpenFile | undefined {
    const files = this.byNodeid.get(nodeid) ?? [];
    if (files.length <= 1) return files[0];
    const closed = files.filter((f) => f.flushed > 0);
    if (closed.length > 0) return closed.reduce((a, b) => (b.flushed < a.flushed ? b : a));
    // A file held open is released only after a close (a FLUSH), but a refused open at once: of the files whose
    // opener is silent, the newest. A file whose opener went quiet after opening it looks the same, hence counted.
    const refused = files.filter((f) => !f.active);
    if (refused.length !== 1) this.counts.ambiguousReleases = (this.counts.ambiguousReleases ?? 0) + 1;
    return refused.length > 0 ? refused[refused.length - 1] : files[0];
  }

  /**
   * Too many requests wait for a reply: the oldest quarter never gets one (a log cut off or mangled, not a daemon:
   * the kernel keeps far fewer in flight). They are reported as malformed, and memory and the searches of `recent`
   * stay bounded however many unmatched uniques the log holds.
   */
  private expireOldest(lineNo: number): void {
    for (const req of this.recent.splice(0, MAX_PENDING / 4)) {
      this.pending.delete(req.unique);
      this.malformed(lineNo, `unique: ${req.unique}`, `request ${req.unique} (${req.opcode}) got no reply before ${MAX_PENDING} later requests`);
    }
  }

  private drop(req: Request): void {
    this.pending.delete(req.unique);
    const i = this.recent.lastIndexOf(req);
    if (i >= 0) this.recent.splice(i, 1);
  }

  /** The latest pending request that `ok` accepts. */
  private latest(ok: (r: Request) => boolean): Request | undefined {
    for (let i = this.recent.length - 1; i >= 0; i--) if (ok(this.recent[i])) return this.recent[i];
    return undefined;
  }

  private reply(l: Extract<LogLine, { kind: "reply" }>, lineNo: number, text: string): void {
    const req = this.pending.get(l.unique);
    if (req === undefined) return this.malformed(lineNo, text, `reply for unknown unique ${l.unique}`);
    this.drop(req);
    const ok = l.error === 0;
    const daemon = this.fromDaemon(req);
    if (ok && req.entry !== undefined && ENTRY_OPCODES.has(req.opcode)) this.lookup(req.entry);
    if (ok) for (const op of req.pathOps ?? []) this.pathOp(op);
    const isOpen = req.opcode === "OPEN" || req.opcode === "CREATE";
    if (this.o.daemon !== undefined && daemon === undefined && isOpen && ok) this.counts.notInDaemonStrace++;
    if (isOpen && !ok) this.counts.failedOpens++;
    if (isOpen && ok) {
      // The header's nodeid of a CREATE is the parent directory's; the file's is in the NODEID line (high-level only).
      this.open(req, req.opcode === "OPEN" ? req.nodeid : (req.entry ?? null), req.opcode === "CREATE", daemon?.file);
    } else if (req.registered !== undefined) {
      // Registrations no open row names (a failed open, or another request): rows of their own, for the idr.
      const bref = this.o.backing?.({ unique: req.unique, path: req.path, object: -1, instance: -1 - this.strayRegistrations++, daemonFile: daemon?.file }) ?? 0;
      for (const id of req.registered) this.backingOpen(id, bref, req.pid);
    }
    if (req.opcode === "RELEASE" && !req.released) this.releaseByNodeid(req);
    for (const id of req.closed ?? []) this.backingClose(id, req.pid);
  }

  private pathOp(op: LogLine): void {
    if (op.kind === "unlink") return this.paths.unlink(op.path);
    if (op.kind !== "rename" && op.kind !== "link") return;
    const two = splitPaths(op.paths, (p) => this.paths.has(p));
    if (two === undefined) return;
    if (op.kind === "link") this.paths.link(two[0], two[1]);
    else this.paths.rename(two[0], two[1], op.flags);
  }

  private openLine(l: Extract<LogLine, { kind: "open" | "create" }>, lineNo: number, text: string): void {
    const opcode = l.kind === "open" ? "OPEN" : "CREATE";
    // `open flags: …` is printed before the call, `open[fh] flags: …` after it succeeded.
    const req = this.latest((r) => r.opcode === opcode && (l.fh === undefined ? r.path === undefined : r.fh === undefined));
    if (req === undefined) return this.malformed(lineNo, text, `${l.kind} line outside a pending ${opcode} request`);
    req.flags = l.flags;
    req.path = l.path;
    if (l.fh !== undefined) req.fh = l.fh;
  }

  private releaseLine(fh: string, lineNo: number, text: string): void {
    const req = this.latest((r) => r.opcode === "RELEASE" && !r.released);
    if (req === undefined) return this.malformed(lineNo, text, "release line outside a pending RELEASE request");
    req.released = true;
    const file = this.byFh.get(fh);
    if (file === undefined) {
      this.counts.unmatchedReleases++;
      return;
    }
    this.counts.releases++;
    this.close(file, req.pid);
  }

  private nodeidLine(nodeid: string, lineNo: number, text: string): void {
    const req = this.latest((r) => ENTRY_OPCODES.has(r.opcode) && r.entry === undefined);
    if (req === undefined) return this.malformed(lineNo, text, "NODEID line outside a pending entry request (LOOKUP, CREATE, …)");
    req.entry = nodeid;
  }

  /** A FORGET header with no `FORGET n/count` line after it (low-level logs): the kernel forgets all lookups. */
  private settleForget(): void {
    const f = this.pendingForget;
    this.pendingForget = null;
    if (f !== null && !f.seen && f.nodeid !== null) this.forget(f.nodeid, null);
  }

  private newInstance(nodeid: string | null): Instance {
    const inst: Instance = { id: this.instanceIds++, nodeid, lookups: 0, slot: -1, nopen: 0, ended: false };
    if (nodeid !== null) this.instances.set(nodeid, inst);
    return inst;
  }

  private lookup(nodeid: string): void {
    if (nodeid === "0") return; // a negative entry
    const inst = this.instances.get(nodeid) ?? this.newInstance(nodeid);
    inst.lookups++;
  }

  /** Subtracts `count` lookups (all of them when null); the instance ends at zero. */
  private forget(nodeid: string, count: number | null): void {
    // A RELEASE of this nodeid still waiting for its reply was sent before the FORGET (open files pin the inode).
    for (const req of [...this.recent]) {
      if (req.opcode === "RELEASE" && !req.released && req.nodeid === nodeid) {
        req.released = true;
        this.releaseByNodeid(req);
      }
    }
    const inst = this.instances.get(nodeid);
    if (inst === undefined) return;
    inst.lookups = count === null ? 0 : inst.lookups - count;
    if (inst.lookups > 0) return;
    this.instances.delete(nodeid);
    inst.ended = true;
    if (inst.nopen === 0) this.emitForget(inst);
  }

  private emitForget(inst: Instance): void {
    if (inst.slot < 0) return; // never opened: the trace never named it
    this.emitter.push(OP_FORGET, inst.slot, 0, 0, 0, 0, 0);
    this.counts.forgets++;
    this.nodeSlots.give(inst.slot);
    inst.slot = -1;
  }

  private open(req: Request, nodeid: string | null, create: boolean, daemonFile?: DaemonFile): void {
    this.counts.opens++;
    const flags = req.flags ?? (create ? UNKNOWN_CREATE_FLAGS : UNKNOWN_OPEN_FLAGS);
    // An open with O_TRUNC (and any CREATE) starts a new version of the file at that path.
    let object = -1;
    if (req.path !== undefined) {
      object = create || (flags & O_TRUNC) !== 0 ? this.paths.replace(req.path) : this.paths.object(req.path);
    }
    const inst = nodeid === null ? this.newInstance(null) : (this.instances.get(nodeid) ?? this.newInstance(nodeid));
    // Without an fh in the log (low-level), each open gets a synthetic one, never reused.
    const daemonFh = req.fh ?? `#${this.syntheticFh++}`;
    const stale = this.byFh.get(daemonFh);
    if (stale !== undefined) {
      this.malformed(this.lineNo, this.text, `daemon fh ${daemonFh} opened again while still open: its RELEASE is missing`);
      this.counts.releases++;
      this.close(stale, req.pid);
    }
    if (inst.slot < 0) inst.slot = this.nodeSlots.take();
    const bref = this.o.backing?.({ unique: req.unique, path: req.path, object, instance: inst.id, daemonFile }) ?? 0;
    for (const id of req.registered ?? []) this.backingOpen(id, bref, req.pid);
    const file: OpenFile = { fh: this.fhSlots.take(), inst, daemonFh, pid: req.pid, active: false, flushed: 0 };
    if (req.pid !== 0) {
      const silent = this.silentOpeners.get(req.pid);
      if (silent === undefined) this.silentOpeners.set(req.pid, [file]);
      else silent.push(file);
    }
    this.byFh.set(daemonFh, file);
    if (inst.nodeid === null) this.unbound.push(file);
    else this.filesOf(inst.nodeid).push(file);
    inst.nopen++;
    // Without a recorded id, the trace asks what passthrough of every open would do; with one, it is what happened.
    const recorded = req.replyId !== undefined;
    if (recorded) this.counts.recordedOpens++;
    const fopen = !recorded || req.replyId! > 0 ? FOPEN_PASSTHROUGH : 0;
    file.row = () => this.emitter.push(OP_OPEN, inst.slot, file.fh, bref, flags, fopen, req.pid, recorded ? req.replyId : 0);
    // The kernel checks a passthrough open in the opener's context after the reply, and the log cannot show when:
    // a file of the same inode released meanwhile may have been released before the check. Such an open waits
    // until its opener's next request (the check is done by then) or its own release, so that releases in between
    // come first: the replay then refuses no open the kernel accepted (at worst it accepts one the kernel refused).
    if (inst.nodeid === null || this.filesOf(inst.nodeid).length <= 1 || req.pid === 0) this.emitOpen(file);
  }

  private filesOf(nodeid: string): OpenFile[] {
    let list = this.byNodeid.get(nodeid);
    if (list === undefined) this.byNodeid.set(nodeid, (list = []));
    return list;
  }

  /**
   * A RELEASE with no fh in the log (low-level): the oldest open file of the nodeid. Failing that, the oldest file
   * from a CREATE whose nodeid was not shown, which this RELEASE tells us.
   */
  private releaseByNodeid(req: Request): void {
    req.released = true;
    const chosen = req.releases !== undefined && this.byFh.get(req.releases.daemonFh) === req.releases ? req.releases : undefined;
    let file: OpenFile | undefined = chosen ?? this.byNodeid.get(req.nodeid)?.[0];
    if (file === undefined && this.unbound.length > 0) {
      file = this.unbound[0];
      file.inst.nodeid = req.nodeid;
      this.unbound.shift();
      this.filesOf(req.nodeid).push(file);
      if (!this.instances.has(req.nodeid)) this.instances.set(req.nodeid, file.inst);
    }
    if (file === undefined) {
      this.counts.unmatchedReleases++;
      return;
    }
    this.counts.releases++;
    this.close(file, req.pid);
  }

  private emitOpen(file: OpenFile): void {
    const row = file.row;
    file.row = undefined;
    row?.();
  }

  private close(file: OpenFile, pid: number): void {
    this.emitOpen(file);
    this.byFh.delete(file.daemonFh);
    const { inst } = file;
    const list = inst.nodeid === null ? this.unbound : this.byNodeid.get(inst.nodeid)!;
    list.splice(list.indexOf(file), 1);
    if (list.length === 0 && inst.nodeid !== null) this.byNodeid.delete(inst.nodeid);
    this.emitter.push(OP_RELEASE, inst.slot, file.fh, 0, 0, 0, pid);
    this.fhSlots.give(file.fh);
    inst.nopen--;
    if (inst.ended && inst.nopen === 0) this.emitForget(inst);
  }
}
