// The reference model: the replay semantics in plain TypeScript. It is the oracle the wasm core is tested
// against and the JavaScript baseline of the benchmarks. One instance replays one policy.
import {
  C_A_BREF_RANGE, C_A_FH_IN_USE, C_A_FH_RANGE, C_A_FORGET_BUSY, C_A_FORGET_UNKNOWN, C_A_NODEID_RANGE,
  C_A_RELEASE_UNOPENED, C_A_UNKNOWN_OP, C_ANOMALIES, C_EIO, C_EVENTS, C_FORGETS, C_OPEN_AT_END, C_OPENS,
  C_PT_OPENS, C_RELEASES, C_RESTARTS, DAEMON_PER_OPEN, FOPEN_PASSTHROUGH, FOPEN_PASSTHROUGH_INODE_CACHE,
  ID_MAX_DEFAULT, IOM_NONE, N_COUNTERS, O_ACCMODE, O_RDONLY, OP_FORGET, OP_LOOKUP, OP_OPEN, OP_RELEASE,
  OP_BACKING_CLOSE, OP_BACKING_OPEN, OP_RESTART, POLICY_LOOKUP, POLICY_REUSE, RESTART_CLOSE_ALL, C_A_RECORDED_ID,
  DAEMON_RECORDED,
} from "../abi.js";
import { DAEMON_CODE, POLICY_CODE, outcomesFromCounters, type Outcomes, type Replay, type ReplayOptions } from "../engine.js";
import { type BackingFile, type EventColumns } from "../events.js";
import {
  FILE_FAILED, FILE_FREE, FILE_OPEN, FuseConn,
  type BackingFileObject, type BackingInode, type FuseFile, type FuseInode,
} from "./kernel.js";

/** What the daemon remembers about a nodeid (libfuse passthrough_hp keeps one backing id per inode). */
/** `inode`: the backing inode the id was registered for. */
interface DaemonInode { id: number; inode: BackingInode | null; nopen: number; gen: number }

/** daemonGen of a file whose open the daemon keeps no state for (not a passthrough reply, or P4b). */
const UNTRACKED = -1;

/** Distinct backing inodes become distinct objects, so comparing them is comparing file_inode() pointers. */
class BackingTable {
  readonly files: BackingFileObject[] = [];
  private readonly inodes = new Map<string, BackingInode>();

  add(table: readonly BackingFile[]): void {
    for (const f of table) {
      const key = `${f.dev}:${f.ino}`;
      let inode = this.inodes.get(key);
      // Until an event names a version, an inode holds its first one.
      if (inode === undefined) this.inodes.set(key, (inode = { dev: f.dev, ino: f.ino, content: f.digest }));
      this.files.push({ inode, digest: f.digest });
    }
  }
}

export class ReferenceReplay implements Replay {
  readonly c = new Float64Array(N_COUNTERS);
  private readonly conn: FuseConn;
  private readonly policyCode: number;
  private readonly daemonCode: number;
  private readonly backing = new BackingTable();
  private readonly inodes: FuseInode[] = [];
  private readonly fuseFiles: FuseFile[] = [];
  private readonly daemonInodes: DaemonInode[] = [];
  /** Bumped at every daemon restart: a restarted daemon knows nothing of earlier ids or fhs. */
  private daemonGen = 0;

  constructor(table: readonly BackingFile[], readonly options: ReplayOptions) {
    this.policyCode = POLICY_CODE[options.policy];
    this.daemonCode = DAEMON_CODE[options.daemon];
    this.backing.add(table);
    this.conn = new FuseConn(this.policyCode, options.idMax ?? ID_MAX_DEFAULT, this.c);
    for (let i = 0; i < options.maxInodes; i++) {
      this.inodes.push({ iocachectr: 0, fb: null, cacheIoMode: false, lookupBacking: false, alive: false, nfiles: 0, writers: 0 });
      this.daemonInodes.push({ id: 0, inode: null, nopen: 0, gen: 0 });
    }
    for (let i = 0; i < options.maxFiles; i++) {
      this.fuseFiles.push({ state: FILE_FREE, nodeid: 0, iomode: IOM_NONE, mayWrite: false, passthrough: null, daemonId: 0, daemonGen: UNTRACKED });
    }
  }

  get policy() { return this.options.policy; }

  private get files(): BackingFileObject[] { return this.backing.files; }

  addBacking(files: readonly BackingFile[]): void {
    this.backing.add(files);
  }

  /**
   * Replays the rows. With `verdicts` (one per row), each OPEN row's entry is set to 0 if the open succeeded, else
   * the internal -errno that became the user's EIO (the oracle compares them with the kernel's).
   */
  feed(ev: EventColumns, verdicts?: Int32Array): void {
    for (let i = 0; i < ev.length; i++) {
      this.c[C_EVENTS]++;
      const bid = ev.bid?.[i] ?? 0;
      switch (ev.op[i]) {
        case OP_OPEN: {
          const err = this.onOpen(ev.nodeid[i], ev.fh[i], ev.bref[i], ev.oflags[i], ev.fopen[i], bid);
          if (verdicts !== undefined) verdicts[i] = err;
          break;
        }
        case OP_RELEASE: this.onRelease(ev.fh[i]); break;
        case OP_FORGET: this.onForget(ev.nodeid[i]); break;
        case OP_LOOKUP: this.onLookup(ev.nodeid[i], ev.bref[i], ev.fopen[i]); break;
        case OP_RESTART: this.onRestart(ev.oflags[i]); break;
        case OP_BACKING_OPEN: this.onBackingOpen(ev.bref[i], bid); break;
        case OP_BACKING_CLOSE: this.onBackingClose(bid); break;
        default: this.anomaly(C_A_UNKNOWN_OP);
      }
    }
  }

  private anomaly(kind: number): void {
    this.c[C_ANOMALIES]++;
    this.c[kind]++;
  }

  /** Returns 0, or the internal -errno of a refused open (also 0 for a row counted as an anomaly). */
  private onOpen(nodeid: number, fh: number, bref: number, oflags: number, fopen: number, recordedId: number): number {
    if (nodeid >= this.inodes.length) {
      this.anomaly(C_A_NODEID_RANGE);
      return 0;
    }
    if (fh >= this.fuseFiles.length) {
      this.anomaly(C_A_FH_RANGE);
      return 0;
    }
    if (bref >= this.files.length) {
      this.anomaly(C_A_BREF_RANGE);
      return 0;
    }
    const ff = this.fuseFiles[fh];
    if (ff.state !== FILE_FREE) {
      this.anomaly(C_A_FH_IN_USE);
      return 0;
    }
    const fi = this.inodes[nodeid];
    if (!fi.alive) this.lookup(nodeid, bref, fopen);
    this.c[C_OPENS]++;
    ff.nodeid = nodeid;
    ff.iomode = IOM_NONE;
    ff.mayWrite = (oflags & O_ACCMODE) !== O_RDONLY;
    ff.passthrough = null;
    ff.daemonId = 0;
    ff.daemonGen = UNTRACKED;
    const intended = this.files[bref];
    intended.inode.content = intended.digest;
    let backingId = 0;
    let openFlags = fopen;
    if ((fopen & FOPEN_PASSTHROUGH) !== 0) {
      this.c[C_PT_OPENS]++;
      if (this.policyCode === POLICY_REUSE) openFlags |= FOPEN_PASSTHROUGH_INODE_CACHE;
      backingId = this.daemonOpenBacking(nodeid, ff, bref, recordedId);
    }
    const err = this.conn.fileIoOpen(fi, ff, backingId, openFlags, intended);
    if (err !== 0) {
      this.c[C_EIO]++;
      ff.state = FILE_FAILED;
      this.daemonRelease(ff); // the synchronous release of a failed open (spec §b.3)
      return err;
    }
    ff.state = FILE_OPEN;
    fi.nfiles++;
    if (ff.mayWrite) fi.writers++;
    return 0;
  }

  /** A registration the captured daemon made; a modelled daemon makes its own instead. */
  private onBackingOpen(bref: number, recordedId: number): void {
    if (this.daemonCode !== DAEMON_RECORDED) return;
    if (bref >= this.files.length) return this.anomaly(C_A_BREF_RANGE);
    // Under lookup the kernel side registers at LOOKUP, which the captured daemon never did: the idr's ids drift
    // from the capture's by design, so only the other policies count a difference.
    const same = this.conn.backingOpenRecorded(this.files[bref], recordedId);
    if (!same && this.policyCode !== POLICY_LOOKUP) this.anomaly(C_A_RECORDED_ID);
  }

  private onBackingClose(recordedId: number): void {
    if (this.daemonCode !== DAEMON_RECORDED) return;
    if (this.conn.backingClose(recordedId) !== 0) this.anomaly(C_A_RECORDED_ID);
  }

  private onRelease(fh: number): void {
    if (fh >= this.fuseFiles.length) return this.anomaly(C_A_FH_RANGE);
    const ff = this.fuseFiles[fh];
    if (ff.state === FILE_FREE) return this.anomaly(C_A_RELEASE_UNOPENED);
    this.c[C_RELEASES]++;
    if (ff.state === FILE_OPEN) {
      const fi = this.inodes[ff.nodeid];
      this.conn.fileIoRelease(fi, ff); // the kernel changes the inode's state before FUSE_RELEASE is queued
      fi.nfiles--;
      if (ff.mayWrite) fi.writers--;
      this.daemonRelease(ff);
    }
    ff.state = FILE_FREE;
  }

  private onForget(nodeid: number): void {
    if (nodeid >= this.inodes.length) return this.anomaly(C_A_NODEID_RANGE);
    const fi = this.inodes[nodeid];
    if (!fi.alive) return this.anomaly(C_A_FORGET_UNKNOWN);
    if (fi.nfiles > 0) return this.anomaly(C_A_FORGET_BUSY); // open files pin the inode: no evict
    this.c[C_FORGETS]++;
    this.evict(nodeid);
  }

  private onLookup(nodeid: number, bref: number, fopen: number): void {
    if (nodeid >= this.inodes.length) return this.anomaly(C_A_NODEID_RANGE);
    if (bref >= this.files.length) return this.anomaly(C_A_BREF_RANGE);
    this.files[bref].inode.content = this.files[bref].digest;
    if (!this.inodes[nodeid].alive) this.lookup(nodeid, bref, fopen);
  }

  private onRestart(oflags: number): void {
    this.c[C_RESTARTS]++;
    if ((oflags & RESTART_CLOSE_ALL) !== 0) this.conn.backingCloseAll();
    this.daemonGen++;
  }

  /** A new fuse inode instance. Under P4b the daemon attaches the backing now and closes its id at once. */
  private lookup(nodeid: number, bref: number, fopen: number): void {
    const fi = this.inodes[nodeid];
    fi.alive = true;
    const d = this.daemonInodes[nodeid];
    d.id = 0;
    d.nopen = 0;
    d.gen = this.daemonGen;
    if (this.policyCode !== POLICY_LOOKUP || (fopen & FOPEN_PASSTHROUGH) === 0) return;
    const id = this.conn.backingOpen(this.files[bref]);
    if (id < 0) return;
    this.conn.lookupBackingAttach(fi, this.conn.backingLookup(id)!);
    this.conn.backingClose(id);
  }

  /** FORGET or umount: the inode instance ends and its state resets (spec §b.9: requires iocachectr 0). */
  private evict(nodeid: number): void {
    const fi = this.inodes[nodeid];
    if (fi.lookupBacking) this.conn.lookupBackingDetach(fi);
    fi.alive = false;
  }

  /** The backing id the daemon puts in its open reply. */
  private daemonOpenBacking(nodeid: number, ff: FuseFile, bref: number, recordedId: number): number {
    if (this.policyCode === POLICY_LOOKUP) return 0; // "use the inode's backing"
    if (this.daemonCode === DAEMON_RECORDED) return recordedId; // the captured daemon's registrations are rows
    ff.daemonGen = this.daemonGen;
    if (this.daemonCode === DAEMON_PER_OPEN) {
      const id = this.conn.backingOpen(this.files[bref]);
      ff.daemonId = id > 0 ? id : 0;
      return ff.daemonId;
    }
    const d = this.daemonInodes[nodeid];
    if (d.gen !== this.daemonGen) { // a restarted daemon starts with no ids
      d.gen = this.daemonGen;
      d.id = 0;
      d.nopen = 0;
    }
    // The file was replaced under the daemon (another backing inode; bytes rewritten in place are the same file, as
    // passthrough_hp keys its ids by inode): register the new one.
    if (d.id !== 0 && d.inode !== this.files[bref].inode) {
      this.conn.backingClose(d.id);
      d.id = 0;
    }
    if (d.id === 0) {
      const id = this.conn.backingOpen(this.files[bref]);
      if (id > 0) {
        d.id = id;
        d.inode = this.files[bref].inode;
      }
    }
    d.nopen++;
    ff.daemonId = d.id;
    return d.id;
  }

  /** FUSE_RELEASE reaching the daemon. A restarted daemon ignores fhs it never handed out. */
  private daemonRelease(ff: FuseFile): void {
    if (ff.daemonGen !== this.daemonGen) return;
    if (this.daemonCode === DAEMON_PER_OPEN) {
      if (ff.daemonId > 0) this.conn.backingClose(ff.daemonId);
      return;
    }
    const d = this.daemonInodes[ff.nodeid];
    if (--d.nopen === 0 && d.id !== 0) {
      this.conn.backingClose(d.id);
      d.id = 0;
    }
  }

  outcomes(): Outcomes {
    this.c[C_OPEN_AT_END] = this.fuseFiles.filter((f) => f.state === FILE_OPEN).length;
    return outcomesFromCounters(this.c);
  }

  unmount(): void {
    this.inodes.forEach((fi, nodeid) => {
      if (fi.alive && fi.nfiles === 0) this.evict(nodeid);
    });
  }

  invariantViolations(): string[] {
    const v: string[] = [];
    this.inodes.forEach((fi, nodeid) => {
      if (fi.nfiles === 0) v.push(...this.conn.inodeViolations(nodeid, fi));
    });
    if (this.fuseFiles.every((f) => f.state !== FILE_OPEN)) {
      const held = this.inodes.filter((fi) => fi.fb !== null).length;
      const live = this.conn.liveBackingCount();
      const ids = this.conn.liveIdCount();
      // Every live fuse_backing is kept alive by the idr or by a lookup-holding inode, nothing else.
      if (live !== ids + held) v.push(`${live} live fuse_backing objects, only ${ids} ids and ${held} inode holds`);
    }
    return v;
  }
}
