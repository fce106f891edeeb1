// Server-chosen 64-bit backing ids (FUSE_BACKING_ID_64), as Miklos Szeredi's fuse tree defines them (spec §i.2;
// kernelorg-mirror/linux_kernel_git_mszeredi_fuse @ 1348e0a6, include/uapi/linux/fuse.h 7.47, fs/fuse/backing.c,
// fs/fuse/notify.c). Neither mainline nor Debian's 6.12 has them; our `ptr` guest kernel carries a backport
// (kernel/patches/ptr.patch). The wire, as there:
//   register  FUSE_DEV_IOC_BACKING_OPEN, fuse_backing_map.flags |= FUSE_BACKING_ID_64, .backing_id = the id; the
//             ioctl returns 0. A duplicate id is not refused: the new object shadows the old one.
//   answer    fuse_open_out.open_flags |= FUSE_BACKING_ID_64, the id in backing_id_64 (a 24-byte fuse_open_out).
//   close     the notification FUSE_NOTIFY_BACKING_CLOSE (a write to /dev/fuse with unique 0): the object under the
//             id leaves the table, whoever still holds it.
import { writeSync } from "node:fs";
import { OUT_HEADER_SIZE, encodeOpenOut, encodeOutHeader } from "./protocol.js";

export const FUSE_BACKING_ID_64 = 1 << 30;
export const FUSE_NOTIFY_BACKING_CLOSE = 10;
/** struct fuse_open_out with backing_id_64. */
export const OPEN_OUT_64_SIZE = 24;

/**
 * The stable-id daemon's id for a backing file: its identity, st_dev's low 20 bits above st_ino's low 32 (under
 * 2^53, so records keep it exactly; never 0). Two files collide only when their identities differ beyond those bits.
 */
export function stableIdOf(dev: bigint, ino: bigint): bigint {
  const id = ((dev & 0xfffffn) << 32n) | (ino & 0xffffffffn);
  return id === 0n ? 1n << 52n : id;
}

/** struct fuse_open_out naming the backing by a 64-bit id. */
export function encodeOpenOut64(b: Buffer, off: number, fh: number, openFlags: number, id: bigint): number {
  encodeOpenOut(b, off, fh, (openFlags | FUSE_BACKING_ID_64) >>> 0, 0);
  b.writeBigUInt64LE(id, off + 16);
  return OPEN_OUT_64_SIZE;
}

/** FUSE_NOTIFY_BACKING_CLOSE of `id`; throws the kernel's refusal (ENOENT: no such id) as the write's error. */
export function notifyBackingClose(devFd: number, id: bigint): void {
  const b = Buffer.alloc(OUT_HEADER_SIZE + 16);
  // A notification is an out header with unique 0 and the notify code in place of the error.
  encodeOutHeader(b, b.length, FUSE_NOTIFY_BACKING_CLOSE, 0n);
  b.writeBigUInt64LE(id, OUT_HEADER_SIZE);
  writeSync(devFd, b, 0, b.length);
}
