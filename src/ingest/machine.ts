// The log → events state machine: one instance reads one pass over the log, line by line, and emits trace rows.
// What it tracks, and why:
// - Requests pending a reply, by `unique` (pending.ts); lines other daemon threads wrote into are split (parse.ts).
// - Inode instances: a daemon nodeid is looked up (each successful LOOKUP/CREATE/MKNOD/MKDIR/SYMLINK/LINK reply
//   naming it in a `NODEID:` line adds one) and forgotten (`FORGET n/count` subtracts); at zero the instance
//   ends, and a later lookup of the same nodeid is a new instance, as in the kernel. Instances get compact trace
//   nodeids at their first open, reused after their FORGET.
// - Open files: daemon fh → compact trace fh slot, and which file a RELEASE without fh releases (open-files.ts).
// - Backing ids, where the capture shows them (passthrough_hp's lines, or the daemon's strace): each registration
//   is a BACKING_OPEN row before the open that named it, each open row carries the id of its reply (column `bid`;
//   an open the daemon did not pass through has FOPEN flags 0), each close with a known id is a BACKING_CLOSE row
//   after the RELEASE it was made in.
import { FOPEN_PASSTHROUGH, OP_BACKING_CLOSE, OP_BACKING_OPEN, OP_FORGET, OP_OPEN, OP_RELEASE } from "../abi.js";
import type { DaemonFile } from "./daemon-files.js";
import type { DaemonRequest } from "./daemon-strace.js";
import { NO_BACKING_IDS, type Counts } from "./counts.js";
import { Emitter, SlotAllocator } from "./emitter.js";
import { OpenFiles, type Instance, type OpenFile } from "./open-files.js";
import { LostIds } from "./lost-ids.js";
import { parseLine, splitInterleaved, type LogLine } from "./parse.js";
import { PathTracker } from "./paths.js";
import { MAX_PENDING, PendingRequests, type Request } from "./pending.js";

export const O_TRUNC = 0o1000;
/** Flags recorded for opens whose flags the log does not show (low-level logs): read-only, or O_RDWR|O_CREAT. */
export const UNKNOWN_OPEN_FLAGS = 0;
export const UNKNOWN_CREATE_FLAGS = 0o102;

/** Opcodes whose reply is an entry (the kernel counts one lookup of the nodeid it names). */
const ENTRY_OPCODES = new Set(["LOOKUP", "CREATE", "MKNOD", "MKDIR", "SYMLINK", "LINK"]);

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

export class Machine {
  readonly counts: Counts = {
    lines: 0, malformed: 0, requests: 0, opens: 0, releases: 0, failedOpens: 0, forgets: 0, events: 0,
    unmatchedReleases: 0, openAtEnd: 0, ...NO_BACKING_IDS,
  };
  /** Identities for registrations not made by an open row (instances of their own, below 0). */
  private strayRegistrations = 0;
  readonly paths = new PathTracker();
  readonly emitter: Emitter;

  private readonly pending = new PendingRequests();
  /** The current instance of each daemon nodeid. */
  private readonly instances = new Map<string, Instance>();
  private instanceIds = 0;
  private readonly files = new OpenFiles(this.counts);
  readonly lostIds = new LostIds(this.pending);
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
    const cut = splitInterleaved(text);
    if (cut !== undefined) this.logLine(cut[0], lineNo);
    this.logLine(cut?.[1] ?? text, lineNo);
  }

  private logLine(text: string, lineNo: number): void {
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
        const req = this.pending.inOrder.at(-1);
        if (req !== undefined) (req.pathOps ??= []).push(l);
        return;
      }
      case "backing": return this.backingLine(l, lineNo, text);
      case "garbled": return this.lostIds.garbled();
      case "malformed": return l.runTogether && this.lostIds.garbledLines > 0 ? this.lostIds.garbled() : this.malformed(lineNo, text, l.reason);
    }
  }

  /** passthrough_hp's account of a backing id, printed while it handles the OPEN/CREATE or RELEASE. */
  private backingLine(l: Extract<LogLine, { kind: "backing" }>, lineNo: number, text: string): void {
    if (l.action === "closed") {
      const id = this.lostIds.closed(l.inode, l.id);
      if (id === undefined) return void this.counts.unknownBackingCloses++;
      const req = this.pending.latest((r) => r.opcode === "RELEASE" && r.nodeid === l.inode) ?? this.pending.latest(() => true);
      if (req === undefined) return this.backingClose(id, 0);
      (req.closed ??= []).push(id);
      return;
    }
    // A CREATE's header names the parent directory, not the inode. Of several opens in flight: the oldest, counted.
    const fits = (r: Request) => r.opcode === "CREATE" || (r.opcode === "OPEN" && r.nodeid === l.inode);
    const waiting = this.pending.all((r) => fits(r) && r.replyId === undefined);
    if (waiting.length > 1) this.lostIds.ambiguous(waiting);
    const req = waiting[0] ?? this.pending.latest(fits);
    if (req === undefined && this.lostIds.garbledLines > 0) return this.lostIds.garbled(); // pieces of two lines
    if (req === undefined) return this.malformed(lineNo, text, `passthrough_hp ${l.action} line outside a pending OPEN or CREATE of inode ${l.inode}`);
    if (l.action === "setup") {
      (req.registered ??= []).push(l.id);
      this.lostIds.setup(l.inode, l.id);
    }
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
    if (req.registered === undefined && d.registered.length > 0) [req.registered, req.registeredFiles] = [[...d.registered], d.registeredFiles];
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
    for (const req of this.pending.inOrder) {
      if (req.opcode === "RELEASE" && !req.released) this.releaseByNodeid(req);
      for (const id of req.closed ?? []) this.backingClose(id, req.pid);
    }
    for (const file of this.files.all()) this.emitOpen(file);
    for (const file of [...this.files.all()]) {
      if (file.releasedAtClose === true) this.counts.releases++;
      else this.counts.openAtEnd++;
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
    const reused = this.pending.get(l.unique);
    if (reused !== undefined) {
      this.malformed(lineNo, `unique: ${l.unique}`, `unique ${l.unique} reused while its request is pending`);
      this.pending.drop(reused);
    }
    for (const old of this.pending.makeRoom()) {
      this.malformed(lineNo, `unique: ${old.unique}`, `request ${old.unique} (${old.opcode}) got no reply before ${MAX_PENDING} later requests`);
    }
    const req: Request = { unique: l.unique, opcode: l.opcode, nodeid: l.nodeid, pid: l.pid, garbledBefore: this.lostIds.garbledLines };
    for (const file of this.files.openerActive(l.pid)) this.emitOpen(file);
    if (l.opcode === "FLUSH") req.flushes = this.files.flush(l.nodeid, l.pid);
    if (l.opcode === "RELEASE") req.releases = this.files.releasedFile(l.nodeid);
    this.pending.add(req);
  }

  private reply(l: Extract<LogLine, { kind: "reply" }>, lineNo: number, text: string): void {
    const req = this.pending.get(l.unique);
    if (req === undefined) return this.malformed(lineNo, text, `reply for unknown unique ${l.unique}`);
    this.pending.drop(req);
    const ok = l.error === 0;
    const daemon = this.fromDaemon(req);
    if (ok && req.entry !== undefined && ENTRY_OPCODES.has(req.opcode)) this.lookup(req.entry);
    if (ok) for (const op of req.pathOps ?? []) this.paths.apply(op);
    if (ok && req.flushes !== undefined) req.flushes.flushAnswered = true;
    const isOpen = req.opcode === "OPEN" || req.opcode === "CREATE";
    if (this.o.daemon !== undefined && daemon === undefined && isOpen && ok) this.counts.notInDaemonStrace++;
    if (isOpen && !ok) this.counts.failedOpens++;
    if (isOpen && ok) {
      // The header's nodeid of a CREATE is the parent directory's; the file's is in the NODEID line (high-level only).
      const nodeid = req.opcode === "OPEN" ? req.nodeid : (req.entry ?? null);
      this.lostIds.fill(req, nodeid);
      this.open(req, nodeid, req.opcode === "CREATE", daemon?.file);
    } else if (req.registered !== undefined) {
      // Registrations no open row names (a failed open, or another request): rows of their own, for the idr.
      const bref = this.o.backing?.({ unique: req.unique, path: req.path, object: -1, instance: -1 - this.strayRegistrations++, daemonFile: daemon?.file }) ?? 0;
      for (const id of req.registered) this.backingOpen(id, bref, req.pid);
    }
    if (req.opcode === "RELEASE" && !req.released) this.releaseByNodeid(req);
    for (const id of req.closed ?? []) this.backingClose(id, req.pid);
  }

  private openLine(l: Extract<LogLine, { kind: "open" | "create" }>, lineNo: number, text: string): void {
    const opcode = l.kind === "open" ? "OPEN" : "CREATE";
    // `open flags: …` is printed before the call, `open[fh] flags: …` after it succeeded.
    const req = this.pending.latest((r) => r.opcode === opcode && (l.fh === undefined ? r.path === undefined : r.fh === undefined));
    if (req === undefined) return this.malformed(lineNo, text, `${l.kind} line outside a pending ${opcode} request`);
    req.flags = l.flags;
    req.path = l.path;
    if (l.fh !== undefined) req.fh = l.fh;
  }

  private releaseLine(fh: string, lineNo: number, text: string): void {
    const req = this.pending.latest((r) => r.opcode === "RELEASE" && !r.released);
    if (req === undefined) return this.malformed(lineNo, text, "release line outside a pending RELEASE request");
    req.released = true;
    const file = this.files.get(fh);
    if (file === undefined) {
      this.counts.unmatchedReleases++;
      return;
    }
    this.counts.releases++;
    this.close(file, req.pid);
  }

  private nodeidLine(nodeid: string, lineNo: number, text: string): void {
    const req = this.pending.latest((r) => ENTRY_OPCODES.has(r.opcode) && r.entry === undefined);
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
    for (const req of [...this.pending.inOrder]) {
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
    if (nodeid !== null) for (const f of this.files.held(nodeid)) if (f.flushAnswered === true) this.releaseAtClose(f);
    // Without an fh in the log (low-level), each open gets a synthetic one, never reused.
    const daemonFh = req.fh ?? `#${this.syntheticFh++}`;
    const stale = this.files.get(daemonFh);
    if (stale !== undefined) {
      this.malformed(this.lineNo, this.text, `daemon fh ${daemonFh} opened again while still open: its RELEASE is missing`);
      this.counts.releases++;
      this.close(stale, req.pid);
    }
    if (inst.slot < 0) inst.slot = this.nodeSlots.take();
    const bref = this.o.backing?.({ unique: req.unique, path: req.path, object, instance: inst.id, daemonFile }) ?? 0;
    (req.registered ?? []).forEach((id, k) => {
      const f = req.registeredFiles?.[k];
      this.backingOpen(id, f === undefined ? bref : (this.o.backing?.({ unique: req.unique, object: -1, instance: inst.id, daemonFile: f }) ?? 0), req.pid);
    });
    const file: OpenFile = { fh: this.fhSlots.take(), inst, daemonFh, pid: req.pid, active: false, flushed: 0 };
    this.files.add(file);
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
    if (inst.nodeid === null || this.files.held(inst.nodeid).length <= 1 || req.pid === 0) this.emitOpen(file);
  }

  /**
   * A file closed (FLUSH answered) but not yet RELEASEd when another open of its inode comes: the kernel dropped it
   * at the closer's final fput, right after the FLUSH, and sends RELEASE later (spec §b.8). Released now; counted,
   * as a descriptor still held elsewhere (dup, fork) would have kept the file, which the log cannot show.
   */
  private releaseAtClose(file: OpenFile): void {
    this.counts.releasedAtClose = (this.counts.releasedAtClose ?? 0) + 1;
    this.release(file, file.pid);
    file.releasedAtClose = true;
  }

  /**
   * A RELEASE with no fh in the log (low-level): the oldest open file of the nodeid. Failing that, the oldest file
   * from a CREATE whose nodeid was not shown, which this RELEASE tells us.
   */
  private releaseByNodeid(req: Request): void {
    req.released = true;
    const chosen = req.releases !== undefined && this.files.get(req.releases.daemonFh) === req.releases ? req.releases : undefined;
    let file: OpenFile | undefined = chosen ?? this.files.oldest(req.nodeid);
    if (file === undefined) {
      file = this.files.bindUnbound(req.nodeid);
      if (file !== undefined && !this.instances.has(req.nodeid)) this.instances.set(req.nodeid, file.inst);
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

  /** The file's RELEASE (or the log's end): its row, unless the file was released at its close. */
  private close(file: OpenFile, pid: number): void {
    this.files.remove(file);
    if (file.releasedAtClose !== true) this.release(file, pid);
  }

  private release(file: OpenFile, pid: number): void {
    this.emitOpen(file);
    const { inst } = file;
    this.emitter.push(OP_RELEASE, inst.slot, file.fh, 0, 0, 0, pid);
    this.fhSlots.give(file.fh);
    inst.nopen--;
    if (inst.ended && inst.nopen === 0) this.emitForget(inst);
  }
}
