// The loader's binary records (capture/record.h, struct fbc_record): the C header is the source of truth; a test
// checks that these offsets are its fields in order, with their C sizes.

export const RECORD_SIZE = 160;
export const NAME_LEN = 64;

/** Record kinds (FBC_* in record.h). */
export const KIND = {
  READY: 1, SEND: 2, END: 3, BACKING_OPEN: 4, BACKING_CLOSE: 5, VERDICT: 6, DONE: 7,
} as const;

/** Field → [byte offset, byte size, signed]. In record.h order. */
export const FIELDS = {
  t_ns: [0, 8, false], kind: [8, 4, false], opcode: [12, 4, false], unique: [16, 8, false], nodeid: [24, 8, false],
  pid: [32, 4, false], tgid: [36, 4, false], error: [40, 4, true], flags: [44, 4, false], fh: [48, 8, false],
  open_flags: [56, 4, false], backing_id: [60, 4, true], generation: [64, 8, false], ino: [72, 8, false],
  dev: [80, 4, false], fd: [84, 4, true], lost: [88, 8, false], name: [96, NAME_LEN, false],
} as const satisfies Record<string, readonly [number, number, boolean]>;

/** FUSE opcodes the capture decodes (include/uapi/linux/fuse.h). */
export const FUSE = {
  LOOKUP: 1, UNLINK: 10, RENAME: 12, OPEN: 14, RELEASE: 18, FLUSH: 25, CREATE: 35, RENAME2: 45,
} as const;

/** One decoded record. 64-bit fields are numbers: nodeids and fhs are below 2^53 on x86_64 (user pointers). */
export interface CaptureRecord {
  t_ns: number;
  kind: number;
  opcode: number;
  unique: number;
  nodeid: number;
  pid: number;
  tgid: number;
  error: number;
  flags: number;
  fh: number;
  open_flags: number;
  backing_id: number;
  generation: number;
  ino: number;
  dev: number;
  fd: number;
  lost: number;
  name: string;
}

/** The record at `offset` of `buf` (RECORD_SIZE bytes must be there). */
export function decodeRecord(buf: Buffer, offset: number): CaptureRecord {
  const u64 = (at: number) => Number(buf.readBigUInt64LE(offset + at));
  const nameStart = offset + FIELDS.name[0];
  const nul = buf.indexOf(0, nameStart);
  const nameEnd = nul < 0 || nul > nameStart + NAME_LEN ? nameStart + NAME_LEN : nul;
  return {
    t_ns: u64(0), kind: buf.readUInt32LE(offset + 8), opcode: buf.readUInt32LE(offset + 12), unique: u64(16),
    nodeid: u64(24), pid: buf.readUInt32LE(offset + 32), tgid: buf.readUInt32LE(offset + 36),
    error: buf.readInt32LE(offset + 40), flags: buf.readUInt32LE(offset + 44), fh: u64(48),
    open_flags: buf.readUInt32LE(offset + 56), backing_id: buf.readInt32LE(offset + 60), generation: u64(64),
    ino: u64(72), dev: buf.readUInt32LE(offset + 80), fd: buf.readInt32LE(offset + 84), lost: u64(88),
    name: buf.toString("utf8", nameStart, nameEnd),
  };
}

/** The kernel's dev_t (major << 20 | minor) of a userspace st_dev (glibc's encoding). */
export function kernelDev(stDev: bigint): number {
  const major = Number(((stDev >> 8n) & 0xfffn) | ((stDev >> 32n) & ~0xfffn));
  const minor = Number((stDev & 0xffn) | ((stDev >> 12n) & ~0xffn));
  return ((major << 20) | minor) >>> 0;
}

/** The userspace st_dev of a kernel dev_t, as stat(2) reports it (new_encode_dev). */
export function userDev(kdev: number): number {
  const major = kdev >>> 20;
  const minor = kdev & 0xfffff;
  return (minor & 0xff) + major * 0x100 + (minor - (minor & 0xff)) * 0x1000;
}
