// Errors as the protocol carries them: a reply's error is a negative errno. Node's own fs errors already hold
// one (`.errno`, negative on Linux); FuseError raises one the daemon decides on itself.
import { constants } from "node:os";

const { errno } = constants;
export const { ENOENT, EIO, EBADF, EEXIST, EINVAL, ENOSYS, ESTALE } = errno;

/** A reply error decided by the daemon (positive errno, as <errno.h> spells it). */
export class FuseError extends Error {
  constructor(readonly errno: number, message?: string) {
    super(message ?? errnoName(errno));
    this.name = "FuseError";
  }
}

const NAMES = new Map<number, string>(Object.entries(errno).map(([name, n]) => [n, name]));

/** "ENOENT" for 2 (or -2). */
export function errnoName(n: number): string {
  return NAMES.get(Math.abs(n)) ?? `E${Math.abs(n)}`;
}

/**
 * The negative errno a thrown value stands for: FuseError's, a Node system error's (`.errno` is already
 * negative), or -EIO for anything else (a bug in the daemon must not hang the caller's syscall).
 */
export function replyErrorOf(e: unknown): number {
  if (e instanceof FuseError) return -e.errno;
  const n = (e as { errno?: unknown } | null)?.errno;
  if (typeof n === "number" && n !== 0) return -Math.abs(n);
  return -EIO;
}
