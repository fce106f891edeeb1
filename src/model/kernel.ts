// The kernel side of the reference model: objects of spec §a and transitions of spec §b, written for clarity.
// Names follow fs/fuse/{iomode,backing,passthrough}.c so the two can be read side by side. The why of each
// transition is said once, beside its twin in the core (assembly/iomode.ts, backing.ts); here, the spec section.
import {
  C_ACCEPTED, C_BACKING_CLOSES, C_BACKING_FREES, C_BACKING_OPENS, C_CACHED_OPENS, C_DIRECT_OPENS, C_DIVERGED,
  C_EBUSY, C_EINVAL, C_EIO_MODE, C_ENOENT, C_ENOSPC, C_ETXTBSY, C_LIVE_BACKINGS, C_LIVE_IDS,
  C_LOCK_ACQUISITIONS, C_PEAK_BACKINGS, C_PEAK_IDS, C_STALE, C_UNSAFE,
  EBUSY, EINVAL, EIO, ENOENT, ENOSPC, ETXTBSY,
  FOPEN_DIRECT_IO, FOPEN_PASSTHROUGH, FOPEN_PASSTHROUGH_INODE_CACHE, FOPEN_PASSTHROUGH_MASK,
  IOM_CACHED, IOM_NONE, IOM_UNCACHED,
  POLICY_DIGEST, POLICY_INODE, POLICY_LOOKUP, POLICY_REUSE,
} from "../abi.js";

/**
 * The backing inode: one object per (st_dev, st_ino), so identity comparison is file_inode() comparison.
 * `content` is the digest of what it holds now: the latest version of it an event named.
 */
export interface BackingInode { readonly dev: number; readonly ino: number; content: Uint8Array }

/** The daemon's registered struct file: what f_inode points to, and the bytes at registration. */
export interface BackingFileObject { readonly inode: BackingInode; readonly digest: Uint8Array }

/** struct fuse_backing (spec §a.2): no id field; the id exists only as the idr key. */
export interface FuseBacking { readonly file: BackingFileObject; count: number }

/** struct fuse_inode, regular-file part (spec §a.3). `fb != null` implies `iocachectr < 0`. */
export interface FuseInode {
  iocachectr: number;
  fb: FuseBacking | null;
  /** FUSE_I_CACHE_IO_MODE */
  cacheIoMode: boolean;
  /** Backing attached at LOOKUP (P4b): one permanent -1 in iocachectr and the fb reference, until FORGET. */
  lookupBacking: boolean;
  /** The nodeid names a live inode instance (between LOOKUP and FORGET). */
  alive: boolean;
  /** Open files of this instance, of any io mode: an inode with open files cannot be evicted. */
  nfiles: number;
  /** Open files that may write: a second page cache is unsafe when there is one. */
  writers: number;
}

export const FILE_FREE = 0;
export const FILE_OPEN = 1;
/** The open returned EIO; its RELEASE already went to the daemon synchronously (spec §b.3). */
export const FILE_FAILED = 2;

/** struct fuse_file plus what the model needs to account for it. */
export interface FuseFile {
  state: number;
  nodeid: number;
  iomode: number;
  mayWrite: boolean;
  /** Per-file backing file (FMODE_BACKING): what the file's I/O really reaches. */
  passthrough: BackingFileObject | null;
  daemonId: number;
  daemonGen: number;
}

export function digestEqual(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** struct fuse_conn, the parts passthrough uses (spec §a.1), plus the counters of the replay. */
export class FuseConn {
  /** backing_files_map */
  private idr = new Map<number, FuseBacking>();
  /** The cyclic allocation cursor: the last id handed out. */
  private idrCursor = 0;
  private liveBackings = 0;

  constructor(
    readonly policy: number,
    private readonly idMax: number,
    readonly c: Float64Array,
  ) {}

  // spec §a.1: the smallest free id above the cursor, wrapping to 1 after idMax; 0 is never handed out.
  private idrAllocCyclic(fb: FuseBacking): number {
    if (this.idr.size >= this.idMax) return -ENOSPC;
    let id = this.idrCursor;
    do { id = id >= this.idMax ? 1 : id + 1; } while (this.idr.has(id));
    this.idr.set(id, fb);
    this.idrCursor = id;
    return id;
  }

  /** FUSE_DEV_IOC_BACKING_OPEN (spec §b.1): a new fuse_backing per call, no dedup. Returns the id or -errno. */
  backingOpen(file: BackingFileObject): number {
    const c = this.c;
    c[C_BACKING_OPENS]++;
    const fb: FuseBacking = { file, count: 1 };
    this.liveBackings++;
    c[C_LIVE_BACKINGS] = this.liveBackings;
    if (this.liveBackings > c[C_PEAK_BACKINGS]) c[C_PEAK_BACKINGS] = this.liveBackings;
    const id = this.idrAllocCyclic(fb);
    if (id < 0) {
      c[C_ENOSPC]++;
      this.backingPut(fb);
      return id;
    }
    c[C_LIVE_IDS] = this.idr.size;
    if (this.idr.size > c[C_PEAK_IDS]) c[C_PEAK_IDS] = this.idr.size;
    return id;
  }

  /**
   * A recorded FUSE_DEV_IOC_BACKING_OPEN that the kernel answered with `recorded`: the model's idr allocates as the
   * kernel's would; when its id differs (or the capture's registration failed here), that is counted and the entry
   * is moved to the recorded id, so the opens that name it find it. Returns false on a difference.
   */
  backingOpenRecorded(file: BackingFileObject, recorded: number): boolean {
    const id = this.backingOpen(file);
    if (id === recorded) return true;
    if (id > 0 && recorded > 0 && !this.idr.has(recorded)) {
      this.idr.set(recorded, this.idr.get(id)!);
      this.idr.delete(id);
      this.idrCursor = recorded;
    }
    return false;
  }

  /** FUSE_DEV_IOC_BACKING_CLOSE (spec §b.2): open files and inode fbs are unaffected. */
  backingClose(id: number): number {
    if (id <= 0) return -EINVAL;
    const fb = this.idr.get(id);
    if (fb === undefined) return -ENOENT;
    this.idr.delete(id);
    this.c[C_BACKING_CLOSES]++;
    this.c[C_LIVE_IDS] = this.idr.size;
    this.backingPut(fb);
    return 0;
  }

  /** FUSE_DEV_IOC_BACKING_CLOSE_ALL (spec §b.13, v2/v3): a fresh idr, the cursor back to the start. */
  backingCloseAll(): void {
    const old = [...this.idr.values()];
    this.idr = new Map();
    this.idrCursor = 0;
    this.c[C_LIVE_IDS] = 0;
    for (const fb of old) this.backingPut(fb);
  }

  /** fuse_backing_lookup: a reference only if the object is not already dying. */
  backingLookup(id: number): FuseBacking | null {
    const fb = this.idr.get(id);
    if (fb === undefined || fb.count === 0) return null;
    fb.count++;
    return fb;
  }

  backingGet(fb: FuseBacking): FuseBacking {
    fb.count++;
    return fb;
  }

  backingPut(fb: FuseBacking): void {
    if (--fb.count === 0) {
      this.liveBackings--;
      this.c[C_LIVE_BACKINGS] = this.liveBackings;
      this.c[C_BACKING_FREES]++;
    }
  }

  /** The fi->lock critical section: the model only counts it, single-threaded. */
  lock(): void {
    this.c[C_LOCK_ACQUISITIONS]++;
  }

  /** The policy's conflict test between the inode's cached backing and the new one (spec §d). */
  conflicts(oldfb: FuseBacking, fb: FuseBacking): boolean {
    switch (this.policy) {
      case POLICY_INODE:
        return oldfb.file.inode !== fb.file.inode;
      case POLICY_DIGEST:
        return oldfb.file.inode !== fb.file.inode && !digestEqual(oldfb.file.digest, fb.file.digest);
      default: // ptr, and reuse/lookup, which keep mainline's pointer test
        return oldfb !== fb;
    }
  }

  // spec §b.4 step 5 (fuse_inode_uncached_io_start)
  uncachedIoStart(fi: FuseInode, fb: FuseBacking): number {
    this.lock();
    const oldfb = fi.fb;
    let err = 0;
    if (oldfb !== null && this.conflicts(oldfb, fb)) {
      err = -EBUSY;
    } else if (fi.iocachectr > 0) {
      err = -ETXTBSY;
    } else {
      fi.iocachectr--;
      if (oldfb === null) fi.fb = fb; // consumes the lookup reference
      else this.backingPut(fb); // a put inside the spinlock, as in the kernel
    }
    return err;
  }

  // spec §b.9 (fuse_inode_uncached_io_end)
  uncachedIoEnd(fi: FuseInode): void {
    this.lock();
    let oldfb: FuseBacking | null = null;
    if (++fi.iocachectr === 0) {
      oldfb = fi.fb;
      fi.fb = null;
    }
    if (oldfb !== null) this.backingPut(oldfb);
  }

  // spec §b.5 (fuse_file_cached_io_open)
  cachedIoOpen(fi: FuseInode, ff: FuseFile): number {
    this.lock();
    if (fi.fb !== null) {
      fi.cacheIoMode = false;
      return -ETXTBSY;
    }
    if (ff.iomode === IOM_NONE) {
      ff.iomode = IOM_CACHED;
      if (fi.iocachectr === 0) fi.cacheIoMode = true;
      fi.iocachectr++;
    }
    return 0;
  }

  // spec §b.8 step 2, CACHED case.
  cachedIoRelease(fi: FuseInode, ff: FuseFile): void {
    this.lock();
    if (--fi.iocachectr === 0) fi.cacheIoMode = false;
    ff.iomode = IOM_NONE;
  }

  // spec §b.13 (Paul Lawrence's series)
  lookupBackingAttach(fi: FuseInode, fb: FuseBacking): void {
    this.lock();
    fi.iocachectr--;
    fi.fb = fb;
    fi.lookupBacking = true;
  }

  // spec §b.13
  lookupBackingDetach(fi: FuseInode): void {
    fi.lookupBacking = false;
    this.uncachedIoEnd(fi);
  }

  /**
   * spec §b.4: open with FOPEN_PASSTHROUGH. `intended` is the file the daemon meant; the result accounts for
   * what the file really reaches (diverged / unsafe / stale).
   */
  passthroughOpen(fi: FuseInode, ff: FuseFile, backingId: number, openFlags: number, intended: BackingFileObject): number {
    const mask = FOPEN_PASSTHROUGH_MASK | (this.policy === POLICY_REUSE ? FOPEN_PASSTHROUGH_INODE_CACHE : 0);
    if ((openFlags & ~mask) !== 0) return -EINVAL; // step 1
    let fb: FuseBacking | null;
    if ((openFlags & FOPEN_PASSTHROUGH_INODE_CACHE) !== 0 && fi.fb !== null) {
      fb = this.backingGet(fi.fb); // P4a: the id is ignored entirely, unlocked read of fi.fb
    } else if (this.policy === POLICY_LOOKUP && backingId === 0) {
      if (!fi.lookupBacking || fi.fb === null) return -ENOENT; // P4b, Amir's variant
      fb = this.backingGet(fi.fb);
    } else {
      if (backingId <= 0) return -EINVAL; // step 2
      fb = this.backingLookup(backingId); // step 3
      if (fb === null) return -ENOENT;
    }
    // step 4: the per-file backing file is opened from fb's path; the model assumes the open succeeds.
    const err = this.uncachedIoStart(fi, fb); // step 5
    if (err !== 0) {
      this.backingPut(fb); // step 6
      return err;
    }
    ff.iomode = IOM_UNCACHED; // step 7
    ff.passthrough = fb.file;
    this.accountAccept(fi, ff, fb.file, intended);
    return 0;
  }

  private accountAccept(fi: FuseInode, ff: FuseFile, served: BackingFileObject, intended: BackingFileObject): void {
    const c = this.c;
    c[C_ACCEPTED]++;
    const cached = fi.fb!.file;
    if (served.inode !== cached.inode) {
      c[C_DIVERGED]++;
      if (fi.writers > 0 || ff.mayWrite) c[C_UNSAFE]++;
    }
    // Stale (the rule and its reason: assembly/iomode.ts)
    if (served.inode !== intended.inode && !digestEqual(served.inode.content, intended.digest)) c[C_STALE]++;
  }

  /**
   * spec §b.3: open dispatch after the daemon's reply. Returns 0 or the internal -errno; the caller turns any
   * error into the EIO the user sees.
   */
  fileIoOpen(fi: FuseInode, ff: FuseFile, backingId: number, openFlags: number, intended: BackingFileObject): number {
    const c = this.c;
    if (fi.fb !== null && (openFlags & FOPEN_PASSTHROUGH) === 0) { // step 2
      c[C_EIO_MODE]++;
      return -EIO;
    }
    if ((openFlags & FOPEN_PASSTHROUGH) !== 0) return this.countOpenError(this.passthroughOpen(fi, ff, backingId, openFlags, intended));
    if ((openFlags & FOPEN_DIRECT_IO) !== 0) { // step 4: iomode stays NONE
      c[C_DIRECT_OPENS]++;
      return 0;
    }
    const err = this.countOpenError(this.cachedIoOpen(fi, ff)); // step 6
    if (err === 0) c[C_CACHED_OPENS]++;
    return err;
  }

  private countOpenError(err: number): number {
    const c = this.c;
    if (err === -EBUSY) c[C_EBUSY]++;
    else if (err === -ETXTBSY) c[C_ETXTBSY]++;
    else if (err === -EINVAL) c[C_EINVAL]++;
    else if (err === -ENOENT) c[C_ENOENT]++;
    return err;
  }

  /** spec §b.8 step 2 (fuse_file_io_release). */
  fileIoRelease(fi: FuseInode, ff: FuseFile): void {
    if (ff.iomode === IOM_UNCACHED) {
      ff.iomode = IOM_NONE;
      this.uncachedIoEnd(fi);
    } else if (ff.iomode === IOM_CACHED) {
      this.cachedIoRelease(fi, ff);
    }
  }

  /** Invariants of spec §a.3 / §b.9 for an inode with no open files. */
  inodeViolations(nodeid: number, fi: FuseInode): string[] {
    const v: string[] = [];
    const hold = fi.lookupBacking ? -1 : 0;
    if (fi.iocachectr !== hold) v.push(`nodeid ${nodeid}: iocachectr ${fi.iocachectr}, expected ${hold}`);
    if ((fi.fb !== null) !== fi.lookupBacking) v.push(`nodeid ${nodeid}: fb ${fi.fb ? "held" : "absent"} with lookup hold ${fi.lookupBacking}`);
    if (fi.fb !== null && fi.fb.count < 1) v.push(`nodeid ${nodeid}: fb with count ${fi.fb.count}`);
    if (fi.cacheIoMode) v.push(`nodeid ${nodeid}: FUSE_I_CACHE_IO_MODE set with no cached file`);
    if (fi.writers !== 0) v.push(`nodeid ${nodeid}: ${fi.writers} writers with no open file`);
    return v;
  }

  liveIdCount(): number {
    return this.idr.size;
  }

  liveBackingCount(): number {
    return this.liveBackings;
  }
}

