// fast-check generators of event sequences over a small world, so that conflicts, restarts, replacements,
// FORGET and nodeid reuse happen often, plus malformed rows the core must count as anomalies.
import fc from "fast-check";
import {
  FOPEN_DIRECT_IO, FOPEN_KEEP_CACHE, FOPEN_PARALLEL_DIRECT_WRITES, FOPEN_PASSTHROUGH, OP_FORGET, OP_LOOKUP,
  OP_OPEN, OP_RELEASE, OP_RESTART, RESTART_CLOSE_ALL,
} from "../src/abi.js";
import { DAEMONS, type BackingFile, type EventRow } from "../src/replay/index.js";

const d = (fill: number) => new Uint8Array(32).fill(fill);

/** Versions of backing files: replacements, re-downloads (same bytes, new inode), rewrites in place. */
export const WORLD_BACKING: readonly BackingFile[] = [
  { dev: 1, ino: 10, digest: d(1) },
  { dev: 1, ino: 11, digest: d(1) }, // re-download of 0
  { dev: 1, ino: 12, digest: d(2) }, // another file
  { dev: 1, ino: 10, digest: d(3) }, // 0 rewritten in place
  { dev: 2, ino: 10, digest: d(4) }, // same ino on another fs
  { dev: 1, ino: 13, digest: d(2) }, // re-download of 2
];
export const WORLD_INODES = 4;
export const WORLD_FILES = 6;

const FOPEN_CHOICES = [
  FOPEN_PASSTHROUGH, FOPEN_PASSTHROUGH, FOPEN_PASSTHROUGH, FOPEN_PASSTHROUGH | FOPEN_DIRECT_IO,
  FOPEN_PASSTHROUGH | FOPEN_DIRECT_IO | FOPEN_PARALLEL_DIRECT_WRITES, FOPEN_DIRECT_IO, 0, FOPEN_KEEP_CACHE,
  FOPEN_PASSTHROUGH | FOPEN_KEEP_CACHE,
];

// One past the valid range now and then, so range checks are exercised.
const nodeid = fc.oneof({ weight: 12, arbitrary: fc.nat(WORLD_INODES - 1) }, { weight: 1, arbitrary: fc.constantFrom(WORLD_INODES, 0xffffffff) });
const fh = fc.oneof({ weight: 12, arbitrary: fc.nat(WORLD_FILES - 1) }, { weight: 1, arbitrary: fc.constant(WORLD_FILES) });
const bref = fc.oneof({ weight: 12, arbitrary: fc.nat(WORLD_BACKING.length - 1) }, { weight: 1, arbitrary: fc.constant(WORLD_BACKING.length) });

export const eventRow: fc.Arbitrary<EventRow> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ op: fc.constant(OP_OPEN), nodeid, fh, bref, oflags: fc.nat(2), fopen: fc.constantFrom(...FOPEN_CHOICES) }) },
  { weight: 8, arbitrary: fc.record({ op: fc.constant(OP_RELEASE), fh }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant(OP_FORGET), nodeid }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant(OP_LOOKUP), nodeid, bref, fopen: fc.constantFrom(...FOPEN_CHOICES) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant(OP_RESTART), oflags: fc.constantFrom(0, RESTART_CLOSE_ALL) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom(0, 6, 255) }) },
);

export const eventSequence = fc.array(eventRow, { minLength: 1, maxLength: 80 });
export const daemonModel = fc.constantFrom(...DAEMONS);
/** INT_MAX as in the kernel, or a tiny id space so wrap and -ENOSPC happen. */
export const idMax = fc.constantFrom(0x7fffffff, 0x7fffffff, 2);

/** Releases of every fh: brings every sequence to "all files closed". */
export const closeAll: EventRow[] = Array.from({ length: WORLD_FILES }, (_, f) => ({ op: OP_RELEASE, fh: f }));
