// What a replay's tables cost, checked against a memory budget before anything is allocated. The figures come from
// a validated footer (trace/format.ts checks it against the file's size; the reader holds every row to it) and,
// for a sparse id space, from the compact ids (trace/dense.ts): never from a raw value of the file.
import { totalmem } from "node:os";
import type { EngineName } from "../engine.js";

const MIB = 1 << 20;

/**
 * Default budget: a quarter of the machine's RAM, and never more than the wasm core can address (its heap is one
 * 32-bit linear memory: 4 GiB, of which the tables get at most 3).
 */
export const WASM_TABLE_LIMIT = 3 * 1024 * MIB;
export function defaultMaxMemory(): number {
  return Math.min(Math.floor(totalmem() / 4), WASM_TABLE_LIMIT);
}

/**
 * Bytes per table entry and policy (assembly/layout.ts: fuse inode 64 + daemon inode 16, fuse file 32, backing
 * reference 8 + backing inode 24 + content slot 4, a digest of 32 per file version of the trace (its scaled copies
 * share it), a live backing's fuse_backing 64 + struct file 64 + struct inode 192; the reference model's objects,
 * measured roughly at several times that).
 */
const COST: Record<EngineName, { inode: number; file: number; backing: number; digest: number; live: number }> = {
  wasm: { inode: 80, file: 32, backing: 36, digest: 32, live: 320 },
  js: { inode: 320, file: 160, backing: 200, digest: 0, live: 400 },
};

/** Fixed costs of a replay, measured: the core's event buffer (256k rows × 25 bytes), the injector's output and tables, the trace's chunks, and the JavaScript heap of a worker (its live objects and the garbage V8 has not collected yet). */
const FIXED_BYTES = 96 * MIB;

export interface ReplaySizes {
  /** Table entries per policy, after scaling. */
  inodes: number;
  files: number;
  /** Backing-table entries after scaling (injections add to them as they go). */
  backingFiles: number;
  /** File versions before scaling, each with its digest (default: backingFiles). */
  versions?: number;
  policies: number;
}

/** The sizes of a replay of a trace with this (validated) footer, scaled `scale` times, under `policies` policies. */
export function replaySizes(footer: { max_nodeid: number; max_fh: number; backing_files: number }, scale: number, policies: number): ReplaySizes {
  return {
    inodes: Math.max(1, (footer.max_nodeid + 1) * scale),
    files: Math.max(1, (footer.max_fh + 1) * scale),
    backingFiles: footer.backing_files * scale,
    versions: footer.backing_files,
    policies,
  };
}

/**
 * The bytes a replay of these sizes needs, about. Live backings are bounded by the backing inodes a policy can pin
 * (one per fuse inode under `lookup`, one per registered file otherwise) plus one per open file (a daemon that
 * registers per open): an upper bound, reached by `lookup` on traces that look every inode up.
 */
export function replayBytes(engine: EngineName, s: ReplaySizes): number {
  const c = COST[engine];
  const live = Math.min(s.inodes, s.backingFiles) + s.files;
  return FIXED_BYTES + s.policies * (s.inodes * c.inode + s.files * c.file + live * c.live) + s.backingFiles * c.backing + (s.versions ?? s.backingFiles) * c.digest;
}

/** A reason when the replay would exceed `budget` bytes (or what the wasm core can address), else undefined. */
export function overBudget(engine: EngineName, s: ReplaySizes, budget: number): string | undefined {
  const bytes = replayBytes(engine, s);
  const limit = engine === "wasm" ? Math.min(budget, WASM_TABLE_LIMIT) : budget;
  if (bytes <= limit && s.inodes <= 0xffffffff && s.files <= 0xffffffff) return undefined;
  const mib = (n: number) => `${Math.ceil(n / MIB)} MiB`;
  const what = `${s.inodes} inodes and ${s.files} files under ${s.policies} policies, ${s.backingFiles} backing files`;
  return bytes > limit && limit < budget
    ? `replaying ${what} needs about ${mib(bytes)}, more than the wasm core addresses (${mib(limit)}); use a smaller --scale`
    : `replaying ${what} needs about ${mib(bytes)}, more than --max-memory ${mib(limit)}`;
}
