// The /dev/fuse wire protocol, as include/uapi/linux/fuse.h defines it (protocol 7.40: passthrough): opcodes,
// flags, and the encoders and decoders of the structs this daemon reads and writes. Little-endian x86_64/arm64
// layouts; every struct is padded to 8 bytes by the kernel's own definition, so offsets below are the C ones.
import type { BigIntStats } from "node:fs";

/** The protocol this daemon speaks: 7.40 added FUSE_PASSTHROUGH, max_stack_depth and open_out.backing_id. */
export const FUSE_KERNEL_VERSION = 7;
export const FUSE_KERNEL_MINOR_VERSION = 40;
export const FUSE_ROOT_ID = 1;

export const Opcode = {
  LOOKUP: 1, FORGET: 2, GETATTR: 3, SETATTR: 4, READLINK: 5, SYMLINK: 6, MKNOD: 8, MKDIR: 9, UNLINK: 10,
  RMDIR: 11, RENAME: 12, LINK: 13, OPEN: 14, READ: 15, WRITE: 16, STATFS: 17, RELEASE: 18, FSYNC: 20,
  SETXATTR: 21, GETXATTR: 22, LISTXATTR: 23, REMOVEXATTR: 24, FLUSH: 25, INIT: 26, OPENDIR: 27, READDIR: 28,
  RELEASEDIR: 29, FSYNCDIR: 30, GETLK: 31, SETLK: 32, SETLKW: 33, ACCESS: 34, CREATE: 35, INTERRUPT: 36,
  BMAP: 37, DESTROY: 38, IOCTL: 39, POLL: 40, NOTIFY_REPLY: 41, BATCH_FORGET: 42, FALLOCATE: 43,
  READDIRPLUS: 44, RENAME2: 45, LSEEK: 46, COPY_FILE_RANGE: 47, SETUPMAPPING: 48, REMOVEMAPPING: 49, SYNCFS: 50,
  TMPFILE: 51, STATX: 52,
} as const;

const OPCODE_NAMES = new Map<number, string>(Object.entries(Opcode).map(([name, code]) => [code, name]));

/** "OPEN", or "OPCODE_123" for one this table does not know. */
export function opcodeName(opcode: number): string {
  return OPCODE_NAMES.get(opcode) ?? `OPCODE_${opcode}`;
}

/** fuse_init_in.flags / fuse_init_out.flags; bits 32..63 travel in flags2 (FUSE_INIT_EXT). */
export const InitFlag = {
  ASYNC_READ: 1n << 0n,
  POSIX_LOCKS: 1n << 1n,
  ATOMIC_O_TRUNC: 1n << 3n,
  EXPORT_SUPPORT: 1n << 4n,
  BIG_WRITES: 1n << 5n,
  DONT_MASK: 1n << 6n,
  FLOCK_LOCKS: 1n << 10n,
  AUTO_INVAL_DATA: 1n << 12n,
  DO_READDIRPLUS: 1n << 13n,
  WRITEBACK_CACHE: 1n << 16n,
  PARALLEL_DIROPS: 1n << 18n,
  MAX_PAGES: 1n << 22n,
  CACHE_SYMLINKS: 1n << 23n,
  INIT_EXT: 1n << 30n,
  PASSTHROUGH: 1n << 37n,
} as const;

/** fuse_open_out.open_flags. */
export const FOPEN_DIRECT_IO = 1 << 0;
export const FOPEN_KEEP_CACHE = 1 << 1;
export const FOPEN_PASSTHROUGH = 1 << 7;

/** fuse_setattr_in.valid. */
export const FATTR_MODE = 1 << 0;
export const FATTR_UID = 1 << 1;
export const FATTR_GID = 1 << 2;
export const FATTR_SIZE = 1 << 3;
export const FATTR_ATIME = 1 << 4;
export const FATTR_MTIME = 1 << 5;
export const FATTR_FH = 1 << 6;
export const FATTR_ATIME_NOW = 1 << 7;
export const FATTR_MTIME_NOW = 1 << 8;

export const FUSE_GETATTR_FH = 1 << 0;
export const FUSE_FSYNC_FDATASYNC = 1 << 0;

/** renameat2(2) flags as RENAME2 carries them. */
export const RENAME_NOREPLACE = 1 << 0;
export const RENAME_EXCHANGE = 1 << 1;

/** The kernel refuses reads into buffers smaller than this. */
export const FUSE_MIN_READ_BUFFER = 8192;

export const IN_HEADER_SIZE = 40;
export const OUT_HEADER_SIZE = 16;
export const ATTR_SIZE = 88;
export const ENTRY_OUT_SIZE = 40 + ATTR_SIZE;
export const ATTR_OUT_SIZE = 16 + ATTR_SIZE;
export const OPEN_OUT_SIZE = 16;
export const INIT_OUT_SIZE = 64;
export const WRITE_OUT_SIZE = 8;
export const STATFS_OUT_SIZE = 80;
export const WRITE_IN_SIZE = 40;

/** struct fuse_in_header. `unique` stays a bigint: its top bit marks a resent request. */
export interface InHeader {
  len: number;
  opcode: number;
  unique: bigint;
  nodeid: number;
  uid: number;
  gid: number;
  pid: number;
  /** Extensions (security context, supplementary groups) after the arguments, in 8-byte units. */
  totalExtlen: number;
}

export function decodeInHeader(b: Buffer): InHeader {
  return {
    len: b.readUInt32LE(0),
    opcode: b.readUInt32LE(4),
    unique: b.readBigUInt64LE(8),
    nodeid: Number(b.readBigUInt64LE(16)),
    uid: b.readUInt32LE(24),
    gid: b.readUInt32LE(28),
    pid: b.readUInt32LE(32),
    totalExtlen: b.readUInt16LE(36),
  };
}

/** struct fuse_out_header: len covers the header and the payload; error is 0 or a negative errno. */
export function encodeOutHeader(b: Buffer, len: number, error: number, unique: bigint): void {
  b.writeUInt32LE(len, 0);
  b.writeInt32LE(error, 4);
  b.writeBigUInt64LE(unique, 8);
}

/** A NUL-terminated name at `off` and the offset after its NUL; names are bytes, kept as such. */
export function readName(b: Buffer, off: number): [Buffer, number] {
  const end = b.indexOf(0, off);
  const stop = end < 0 ? b.length : end;
  return [b.subarray(off, stop), stop + 1];
}

// ---- requests ------------------------------------------------------------------------------------------------

/** struct fuse_init_in (flags2 only when the kernel sets FUSE_INIT_EXT). */
export interface InitIn {
  major: number;
  minor: number;
  maxReadahead: number;
  /** flags | flags2 << 32. */
  flags: bigint;
}

export function decodeInitIn(b: Buffer): InitIn {
  const flags = BigInt(b.readUInt32LE(12));
  const ext = (flags & InitFlag.INIT_EXT) !== 0n && b.length >= 20;
  return {
    major: b.readUInt32LE(0),
    minor: b.readUInt32LE(4),
    maxReadahead: b.readUInt32LE(8),
    flags: ext ? flags | (BigInt(b.readUInt32LE(16)) << 32n) : flags,
  };
}

/** struct fuse_open_in (OPEN, OPENDIR): the opener's open(2) flags, minus O_CREAT/O_EXCL/O_NOCTTY. */
export function decodeOpenIn(b: Buffer): { flags: number; openFlags: number } {
  return { flags: b.readUInt32LE(0), openFlags: b.readUInt32LE(4) };
}

/** struct fuse_create_in, then the name. */
export function decodeCreateIn(b: Buffer): { flags: number; mode: number; umask: number; name: Buffer } {
  return { flags: b.readUInt32LE(0), mode: b.readUInt32LE(4), umask: b.readUInt32LE(8), name: readName(b, 16)[0] };
}

/** struct fuse_release_in (RELEASE, RELEASEDIR). */
export function decodeReleaseIn(b: Buffer): { fh: number; flags: number; releaseFlags: number } {
  return { fh: Number(b.readBigUInt64LE(0)), flags: b.readUInt32LE(8), releaseFlags: b.readUInt32LE(12) };
}

/** struct fuse_read_in (READ, READDIR). */
export function decodeReadIn(b: Buffer): { fh: number; offset: number; size: number } {
  return { fh: Number(b.readBigUInt64LE(0)), offset: Number(b.readBigUInt64LE(8)), size: b.readUInt32LE(16) };
}

/** struct fuse_write_in, then the bytes. */
export function decodeWriteIn(b: Buffer): { fh: number; offset: number; size: number; data: Buffer } {
  const size = b.readUInt32LE(16);
  return { fh: Number(b.readBigUInt64LE(0)), offset: Number(b.readBigUInt64LE(8)), size, data: b.subarray(WRITE_IN_SIZE, WRITE_IN_SIZE + size) };
}

/** struct fuse_getattr_in. */
export function decodeGetattrIn(b: Buffer): { flags: number; fh: number } {
  if (b.length < 16) return { flags: 0, fh: 0 };
  return { flags: b.readUInt32LE(0), fh: Number(b.readBigUInt64LE(8)) };
}

/** struct fuse_setattr_in: only the fields named by `valid` mean anything. */
export interface SetattrIn {
  valid: number;
  fh: number;
  size: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  mode: number;
  uid: number;
  gid: number;
}

export function decodeSetattrIn(b: Buffer): SetattrIn {
  return {
    valid: b.readUInt32LE(0),
    fh: Number(b.readBigUInt64LE(8)),
    size: Number(b.readBigUInt64LE(16)),
    atimeNs: b.readBigUInt64LE(32) * 1_000_000_000n + BigInt(b.readUInt32LE(56)),
    mtimeNs: b.readBigUInt64LE(40) * 1_000_000_000n + BigInt(b.readUInt32LE(60)),
    mode: b.readUInt32LE(68),
    uid: b.readUInt32LE(76),
    gid: b.readUInt32LE(80),
  };
}

/** struct fuse_mkdir_in, then the name. */
export function decodeMkdirIn(b: Buffer): { mode: number; umask: number; name: Buffer } {
  return { mode: b.readUInt32LE(0), umask: b.readUInt32LE(4), name: readName(b, 8)[0] };
}

/** struct fuse_mknod_in, then the name. */
export function decodeMknodIn(b: Buffer): { mode: number; rdev: number; name: Buffer } {
  return { mode: b.readUInt32LE(0), rdev: b.readUInt32LE(4), name: readName(b, 16)[0] };
}

/** SYMLINK: the new entry's name, then the link's target. */
export function decodeSymlinkIn(b: Buffer): { name: Buffer; target: Buffer } {
  const [name, next] = readName(b, 0);
  return { name, target: readName(b, next)[0] };
}

/** RENAME (struct fuse_rename_in) and RENAME2 (struct fuse_rename2_in), then the old and the new name. */
export function decodeRenameIn(b: Buffer, v2: boolean): { newdir: number; flags: number; oldname: Buffer; newname: Buffer } {
  const argSize = v2 ? 16 : 8;
  const [oldname, next] = readName(b, argSize);
  return { newdir: Number(b.readBigUInt64LE(0)), flags: v2 ? b.readUInt32LE(8) : 0, oldname, newname: readName(b, next)[0] };
}

/** struct fuse_link_in, then the new name. */
export function decodeLinkIn(b: Buffer): { oldnodeid: number; name: Buffer } {
  return { oldnodeid: Number(b.readBigUInt64LE(0)), name: readName(b, 8)[0] };
}

/** struct fuse_forget_in. */
export function decodeForgetIn(b: Buffer): number {
  return Number(b.readBigUInt64LE(0));
}

/** struct fuse_batch_forget_in, then `count` struct fuse_forget_one. */
export function decodeBatchForgetIn(b: Buffer): { nodeid: number; nlookup: number }[] {
  const count = b.readUInt32LE(0);
  const forgets: { nodeid: number; nlookup: number }[] = [];
  for (let i = 0, off = 8; i < count && off + 16 <= b.length; i++, off += 16) {
    forgets.push({ nodeid: Number(b.readBigUInt64LE(off)), nlookup: Number(b.readBigUInt64LE(off + 8)) });
  }
  return forgets;
}

/** struct fuse_access_in. */
export function decodeAccessIn(b: Buffer): number {
  return b.readUInt32LE(0);
}

/** struct fuse_fsync_in (FSYNC, FSYNCDIR). */
export function decodeFsyncIn(b: Buffer): { fh: number; fsyncFlags: number } {
  return { fh: Number(b.readBigUInt64LE(0)), fsyncFlags: b.readUInt32LE(8) };
}

// ---- replies: each encoder writes at `off` and returns the bytes written -------------------------------------

/** struct fuse_init_out, protocol 7.40 layout (64 bytes). */
export interface InitOut {
  major: number;
  minor: number;
  maxReadahead: number;
  /** flags | flags2 << 32. */
  flags: bigint;
  maxBackground: number;
  congestionThreshold: number;
  maxWrite: number;
  timeGran: number;
  maxPages: number;
  /** How many stacked filesystems may sit below a backing file (1: backing files on a plain filesystem). */
  maxStackDepth: number;
}

export function encodeInitOut(b: Buffer, off: number, o: InitOut): number {
  b.fill(0, off, off + INIT_OUT_SIZE);
  b.writeUInt32LE(o.major, off);
  b.writeUInt32LE(o.minor, off + 4);
  b.writeUInt32LE(o.maxReadahead, off + 8);
  b.writeUInt32LE(Number(o.flags & 0xffffffffn), off + 12);
  b.writeUInt16LE(o.maxBackground, off + 16);
  b.writeUInt16LE(o.congestionThreshold, off + 18);
  b.writeUInt32LE(o.maxWrite, off + 20);
  b.writeUInt32LE(o.timeGran, off + 24);
  b.writeUInt16LE(o.maxPages, off + 28);
  // map_alignment (u16) at 30 stays 0
  b.writeUInt32LE(Number(o.flags >> 32n), off + 32);
  b.writeUInt32LE(o.maxStackDepth, off + 36);
  return INIT_OUT_SIZE;
}

const NS = 1_000_000_000n;
const u64 = (v: bigint) => BigInt.asUintN(64, v);

/** struct fuse_attr from an lstat/fstat of the backing object: the daemon shows backing inode numbers. */
export function encodeAttr(b: Buffer, off: number, st: BigIntStats): number {
  b.writeBigUInt64LE(u64(st.ino), off);
  b.writeBigUInt64LE(u64(st.size), off + 8);
  b.writeBigUInt64LE(u64(st.blocks), off + 16);
  b.writeBigUInt64LE(u64(st.atimeNs / NS), off + 24);
  b.writeBigUInt64LE(u64(st.mtimeNs / NS), off + 32);
  b.writeBigUInt64LE(u64(st.ctimeNs / NS), off + 40);
  b.writeUInt32LE(Number(st.atimeNs % NS), off + 48);
  b.writeUInt32LE(Number(st.mtimeNs % NS), off + 52);
  b.writeUInt32LE(Number(st.ctimeNs % NS), off + 56);
  b.writeUInt32LE(Number(st.mode), off + 60);
  b.writeUInt32LE(Number(st.nlink), off + 64);
  b.writeUInt32LE(Number(st.uid), off + 68);
  b.writeUInt32LE(Number(st.gid), off + 72);
  b.writeUInt32LE(Number(st.rdev & 0xffffffffn), off + 76);
  b.writeUInt32LE(Number(st.blksize), off + 80);
  b.writeUInt32LE(0, off + 84); // flags: no submount, no DAX
  return ATTR_SIZE;
}

/** Cache lifetimes in seconds, as entry_out and attr_out carry them (seconds + nanoseconds). */
function writeValid(b: Buffer, secOff: number, nsecOff: number, seconds: number): void {
  const whole = Math.floor(seconds);
  b.writeBigUInt64LE(BigInt(whole), secOff);
  b.writeUInt32LE(Math.round((seconds - whole) * 1e9), nsecOff);
}

/** struct fuse_entry_out: the reply of LOOKUP, MKDIR, MKNOD, SYMLINK, LINK and the first half of CREATE's. */
export function encodeEntryOut(b: Buffer, off: number, nodeid: number, generation: number, entryValid: number, attrValid: number, st: BigIntStats): number {
  b.writeBigUInt64LE(BigInt(nodeid), off);
  b.writeBigUInt64LE(BigInt(generation), off + 8);
  writeValid(b, off + 16, off + 32, entryValid);
  writeValid(b, off + 24, off + 36, attrValid);
  encodeAttr(b, off + 40, st);
  return ENTRY_OUT_SIZE;
}

/** struct fuse_attr_out: the reply of GETATTR and SETATTR. */
export function encodeAttrOut(b: Buffer, off: number, attrValid: number, st: BigIntStats): number {
  writeValid(b, off, off + 8, attrValid);
  b.writeUInt32LE(0, off + 12);
  encodeAttr(b, off + 16, st);
  return ATTR_OUT_SIZE;
}

/** struct fuse_open_out: backing_id (7.40, formerly padding) names a registered backing file under FOPEN_PASSTHROUGH. */
export function encodeOpenOut(b: Buffer, off: number, fh: number, openFlags: number, backingId: number): number {
  b.writeBigUInt64LE(BigInt(fh), off);
  b.writeUInt32LE(openFlags >>> 0, off + 8);
  b.writeInt32LE(backingId, off + 12);
  return OPEN_OUT_SIZE;
}

/** struct fuse_write_out. */
export function encodeWriteOut(b: Buffer, off: number, size: number): number {
  b.writeUInt32LE(size, off);
  b.writeUInt32LE(0, off + 4);
  return WRITE_OUT_SIZE;
}

/** struct fuse_statfs_out (struct fuse_kstatfs). */
export interface Kstatfs {
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  bsize: number;
  namelen: number;
  frsize: number;
}

export function encodeStatfsOut(b: Buffer, off: number, s: Kstatfs): number {
  b.fill(0, off, off + STATFS_OUT_SIZE);
  b.writeBigUInt64LE(BigInt(s.blocks), off);
  b.writeBigUInt64LE(BigInt(s.bfree), off + 8);
  b.writeBigUInt64LE(BigInt(s.bavail), off + 16);
  b.writeBigUInt64LE(BigInt(s.files), off + 24);
  b.writeBigUInt64LE(BigInt(s.ffree), off + 32);
  b.writeUInt32LE(s.bsize, off + 40);
  b.writeUInt32LE(s.namelen, off + 44);
  b.writeUInt32LE(s.frsize, off + 48);
  return STATFS_OUT_SIZE;
}

/** FUSE_DIRENT_SIZE: the 24-byte fuse_dirent header and the name, padded to 8 bytes. */
export function direntSize(nameLength: number): number {
  return (24 + nameLength + 7) & ~7;
}

/**
 * struct fuse_dirent at `off`: `next` is the offset a later READDIR passes to continue after this entry.
 * Returns 0, writing nothing, when the entry does not fit before `limit`.
 */
export function encodeDirent(b: Buffer, off: number, limit: number, ino: bigint, next: number, type: number, name: Buffer): number {
  const size = direntSize(name.length);
  if (off + size > limit) return 0;
  b.writeBigUInt64LE(u64(ino), off);
  b.writeBigUInt64LE(BigInt(next), off + 8);
  b.writeUInt32LE(name.length, off + 16);
  b.writeUInt32LE(type, off + 20);
  name.copy(b, off + 24);
  b.fill(0, off + 24 + name.length, off + size);
  return size;
}
