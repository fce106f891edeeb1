// The contract between the TypeScript host, the TypeScript reference model and the AssemblyScript core.
// This file is compiled by both tsc and asc, so it holds numeric constants only (no arrays, no strings:
// the wasm core must stay free of data segments).

// ---- Event op codes (one per row of the event columns) ----
/** Open or create: nodeid, fh, bref (backing file the daemon would pass through to), oflags, fopen. */
export const OP_OPEN = 1;
/** Release of fh (the last close of the open file description). */
export const OP_RELEASE = 2;
/** FORGET of nodeid: the fuse inode instance ends; the nodeid may name another file afterwards. */
export const OP_FORGET = 3;
/** LOOKUP reply for nodeid with bref; fopen says whether the daemon means to pass it through. */
export const OP_LOOKUP = 4;
/** Daemon restart that keeps the /dev/fuse fd; oflags bit RESTART_CLOSE_ALL runs CLOSE_ALL first. */
export const OP_RESTART = 5;
/**
 * A recorded FUSE_DEV_IOC_BACKING_OPEN of file version bref that the kernel answered with id `bid`. Replayed only
 * with the recorded daemon (DAEMON_RECORDED); a modelled daemon makes its own registrations.
 */
export const OP_BACKING_OPEN = 6;
/** A recorded FUSE_DEV_IOC_BACKING_CLOSE of id `bid` (DAEMON_RECORDED only). */
export const OP_BACKING_CLOSE = 7;
export const OP_MAX = 7;

export const RESTART_CLOSE_ALL = 1;

// ---- open(2) access mode (oflags column) ----
export const O_ACCMODE = 3;
export const O_RDONLY = 0;

// ---- FOPEN_* reply flags (include/uapi/linux/fuse.h, spec §a.5) ----
export const FOPEN_DIRECT_IO = 0x1;
export const FOPEN_KEEP_CACHE = 0x2;
export const FOPEN_PARALLEL_DIRECT_WRITES = 0x40;
export const FOPEN_PASSTHROUGH = 0x80;
/** RFC 2/2 only (dropped in v2): reuse the inode's cached backing. */
export const FOPEN_PASSTHROUGH_INODE_CACHE = 0x100;
/** Flags allowed together with FOPEN_PASSTHROUGH: PASSTHROUGH | DIRECT_IO | PARALLEL_DIRECT_WRITES | NOFLUSH. */
export const FOPEN_PASSTHROUGH_MASK = 0xe1;

// ---- Policies (which conflict check the kernel runs, spec §d) ----
export const POLICY_PTR = 0;
export const POLICY_INODE = 1;
export const POLICY_DIGEST = 2;
export const POLICY_REUSE = 3;
export const POLICY_LOOKUP = 4;

// ---- Daemon models (which backing id each open carries) ----
export const DAEMON_PER_INODE = 0;
export const DAEMON_PER_OPEN = 1;
/** The ids a real daemon used, from the capture: OPEN rows carry theirs in `bid`, registrations are rows. */
export const DAEMON_RECORDED = 2;
/**
 * Server-chosen ids derived from the backing file's identity (Miklos's 64-bit ids, spec §i.2), refcounted per nodeid
 * like passthrough_hp; a restarted daemon answers with its old id while that registration exists.
 */
export const DAEMON_STABLE_ID = 3;
/** mergerfs: one id per nodeid, refcounted; a replaced file keeps the nodeid's old id until its last release. */
export const DAEMON_PER_NODEID = 4;
/** stable-id, but an id the daemon found registered (inherited across a restart) is never closed by it. */
export const DAEMON_STABLE_ID_KEEP = 5;

// ---- fuse_file.iomode ----
export const IOM_NONE = 0;
export const IOM_CACHED = 1;
export const IOM_UNCACHED = 2;

// ---- errno values as the kernel returns them (positive here) ----
export const EPERM = 1;
export const ENOENT = 2;
export const EIO = 5;
export const EBUSY = 16;
export const EINVAL = 22;
export const ETXTBSY = 26;
export const ENOSPC = 28;

/** Largest backing id the idr hands out: INT_MAX in the kernel (spec §a.1); lower only to test the wrap. */
export const ID_MAX_DEFAULT = 0x7fffffff;

// ---- Results block: one i64 counter per index ----
export const C_EVENTS = 0;
export const C_OPENS = 1;
/** Opens whose reply carried FOPEN_PASSTHROUGH. */
export const C_PT_OPENS = 2;
/** Passthrough opens the kernel accepted. */
export const C_ACCEPTED = 3;
export const C_CACHED_OPENS = 4;
export const C_DIRECT_OPENS = 5;
export const C_EBUSY = 6;
export const C_ETXTBSY = 7;
export const C_EINVAL = 8;
export const C_ENOENT = 9;
/** Non-passthrough open of an inode in passthrough mode (spec §b.3 step 2). */
export const C_EIO_MODE = 10;
/** Every open that returned EIO to the user. */
export const C_EIO = 11;
/** Accepts whose backing inode differs from the inode's cached one (two page caches). */
export const C_DIVERGED = 12;
/** Diverged accepts while any opener of the inode may write. */
export const C_UNSAFE = 13;
/** Accepts serving a backing file other than the daemon's, with other content. */
export const C_STALE = 14;
export const C_RELEASES = 15;
export const C_FORGETS = 16;
export const C_RESTARTS = 17;
export const C_BACKING_OPENS = 18;
export const C_BACKING_CLOSES = 19;
/** BACKING_OPEN refused because every id up to the idr's limit is taken (-ENOSPC). */
export const C_ENOSPC = 20;
export const C_LIVE_BACKINGS = 21;
export const C_PEAK_BACKINGS = 22;
export const C_LIVE_IDS = 23;
export const C_PEAK_IDS = 24;
export const C_BACKING_FREES = 25;
export const C_LOCK_ACQUISITIONS = 26;
/** Failed compare-and-swap attempts on an inode lock (contention). */
export const C_LOCK_SPINS = 27;
export const C_ANOMALIES = 28;
export const C_A_UNKNOWN_OP = 29;
export const C_A_NODEID_RANGE = 30;
export const C_A_FH_RANGE = 31;
export const C_A_BREF_RANGE = 32;
export const C_A_RELEASE_UNOPENED = 33;
export const C_A_FH_IN_USE = 34;
export const C_A_FORGET_BUSY = 35;
export const C_A_FORGET_UNKNOWN = 36;
export const C_OPEN_AT_END = 37;
/**
 * A recorded registration or close the model's idr does not reproduce: the id it would hand out differs from the
 * kernel's (spec §a.1), or the id to close is not registered. The replay then follows the recorded ids.
 */
export const C_A_RECORDED_ID = 38;
export const N_COUNTERS = 39;
/** Counters block stride in i64 slots (room to grow without moving the state that follows). */
export const COUNTER_SLOTS = 64;

// ---- Replay status returned by the core ----
export const STATUS_OK = 0;
/** The fuse_backing slab is full: the host must replay with a larger capacity. */
export const STATUS_BACKING_CAPACITY = 1;
