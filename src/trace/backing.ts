// The backing table of a .fbt file: extensions of file versions (FORMAT.md, "Backing extension"). Version 1 wrote
// each file as a msgpack map; version 2 writes an extension as columns, decoded without a value per file.
import { DIGEST_BYTES, isMap, isString, isUint } from "./format.js";
import { Malformed, describe } from "./bytes.js";
import type { TraceBackingFile } from "./types.js";

export function checkBackingFile(v: unknown): string | undefined {
  if (!isMap(v)) return "is not a map";
  for (const key of ["dev", "ino", "size"] as const) {
    if (!isUint(v[key])) return `${key} must be a non-negative integer below 2^53, got ${JSON.stringify(v[key])}`;
  }
  if (!(v.digest instanceof Uint8Array) || v.digest.length !== DIGEST_BYTES) return `digest must be a bin of ${DIGEST_BYTES} bytes`;
  if (!isString(v.path)) return "path must be a string";
  return undefined;
}


/** `digest` receives a copy of the bytes: msgpackr's Buffers share (and pin) the whole block they were read from. */
export function backingFileOf(v: Record<string, unknown>, digest: Uint8Array): TraceBackingFile {
  digest.set(v.digest as Uint8Array);
  return { dev: v.dev as number, ino: v.ino as number, digest, size: v.size as number, path: v.path as string };
}

/** A version 1 extension's files (a msgpack map each), checked. */
export function backingOf(fields: Map<string, unknown>, tableSize: number): TraceBackingFile[] {
  const first = fields.get("first");
  const files = fields.get("files");
  if (first !== tableSize) throw new Malformed(`first is ${describe(first)}, but the backing table has ${tableSize} entries here`);
  if (!Array.isArray(files)) throw new Malformed(`files is ${describe(files)}, expected an array`);
  // One buffer for the extension's digests: a separate ArrayBuffer per 32-byte digest costs ~1 KB each.
  const digests = new Uint8Array(files.length * DIGEST_BYTES);
  return files.map((f: unknown, i) => {
    const bad = checkBackingFile(f);
    if (bad !== undefined) throw new Malformed(`backing file ${tableSize + i}: ${bad}`);
    return backingFileOf(f as Record<string, unknown>, digests.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES));
  });
}
