// sha256 of a file's bytes, read in blocks: the digest of a backing file version, for every recorder and ingest;
// and the digest that stands for bytes nobody hashed.
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";

export function sha256File(path: string): Uint8Array {
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest();
}

/**
 * A digest for bytes the capture does not show, unique to `label`: unknown bytes must never compare equal to other
 * bytes (the digest policy would accept them).
 */
export function ownDigest(label: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(label).digest());
}
