// What a backing file version looks like: a pure function of (seed, file, content version), so equal content
// always gets an equal digest and size, and a re-download can be told from a replacement by its digest alone.
import type { TraceBackingFile } from "../trace/types.js";
import { fmix32, hash3, TWO_NEG_32 } from "../rng.js";

/** st_dev of every backing file: 8:1, one local disk. */
export const BACKING_DEV = 2049;

export function filePath(file: number): string {
  return `/data/f${String(file).padStart(6, "0")}`;
}

/** Log-uniform between 1 KiB and 1 GiB: a download cache holds both small and very large files. */
export function fileSize(key: number, file: number, version: number): number {
  const u = hash3(key, file, version) * TWO_NEG_32;
  return Math.floor(Math.pow(2, 10 + 20 * u));
}

/**
 * A sha256-shaped 32-byte digest, written to out[at … at+31]. Words 0-1 are a keyed 4-round Feistel permutation
 * of (file, version), so distinct contents can never collide; words 2-7 are hashes of those two words, so the
 * whole looks random.
 */
export function writeContentDigest(key: number, file: number, version: number, out: Uint8Array, at: number): void {
  let l = file >>> 0;
  let r = version >>> 0;
  for (let round = 0; round < 4; round++) {
    const t = (l ^ fmix32(r + fmix32(key + round * 0x9e3779b9))) >>> 0;
    l = r;
    r = t;
  }
  writeWord(out, at, l);
  writeWord(out, at + 4, r);
  for (let w = 2; w < 8; w++) writeWord(out, at + 4 * w, hash3(key + w, l, r));
}

export function contentDigest(key: number, file: number, version: number): Uint8Array {
  const digest = new Uint8Array(32);
  writeContentDigest(key, file, version, digest, 0);
  return digest;
}

/** Little-endian; only byte equality of digests matters. */
function writeWord(out: Uint8Array, at: number, v: number): void {
  out[at] = v;
  out[at + 1] = v >>> 8;
  out[at + 2] = v >>> 16;
  out[at + 3] = v >>> 24;
}

export function backingFile(key: number, file: number, version: number, ino: number, digest = contentDigest(key, file, version)): TraceBackingFile {
  return { dev: BACKING_DEV, ino, digest, size: fileSize(key, file, version), path: filePath(file) };
}

/**
 * Version 0 of files 0 … n-1. Their digests are 32-byte views of one buffer: allocating a hundred thousand
 * separate small Uint8Arrays took longer than generating a million events.
 */
export function initialBackingFiles(key: number, n: number, inoBase: number): TraceBackingFile[] {
  const bytes = new Uint8Array(32 * n);
  const table: TraceBackingFile[] = new Array(n);
  for (let f = 0; f < n; f++) {
    writeContentDigest(key, f, 0, bytes, 32 * f);
    table[f] = backingFile(key, f, 0, inoBase + f, new Uint8Array(bytes.buffer, 32 * f, 32));
  }
  return table;
}
