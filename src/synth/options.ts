// The knobs of a synthetic workload, their defaults and their checks.
import { TRACE_CHUNK_ROWS } from "../trace/format.js";

export interface SynthOptions {
  /** Total events (rows) to emit, the closing releases at the end included. Required; an integer ≥ 1. */
  events: number;
  /** PRNG seed, any safe integer. Required. The same options and seed give byte-identical output. */
  seed: number;
  /** Distinct files, each its own fuse inode while looked up. Default 100_000. */
  inodes?: number;
  /** Zipf exponent of file popularity (0: uniform). Default 0.9. */
  skew?: number;
  /** Mean lifetime of an open file, in events (each open file is released with probability 1/this per event). Default 64. */
  meanOpenEvents?: number;
  /** fh slots: at most this many files open at once, fhs are 0 … maxOpenFiles-1. Default 4096. */
  maxOpenFiles?: number;
  /** Opener processes (pid column: 1000 … 1000+concurrentOpeners-1). Default 32. */
  concurrentOpeners?: number;
  /** Fraction of opens with O_WRONLY or O_RDWR (half each); the rest are O_RDONLY. Default 0.1. */
  writeFraction?: number;
  /** Per open: the file's content was replaced (rename-over) since its last open: new backing inode, new digest. Default 0.001. */
  replaceRate?: number;
  /** Per open: the file was deleted and re-downloaded since its last open: new backing inode, same digest. Default 0.001. */
  redownloadRate?: number;
  /** Per event: probability of a FORGET of an idle inode (looked up, no open files); its nodeid later names another file. Default 0.01. */
  forgetRate?: number;
  /** Fraction of opens the daemon answers FOPEN_DIRECT_IO instead of passthrough. Default 0. */
  directIoFraction?: number;
  /** Fraction of opens the daemon answers with no FOPEN flag (cached). Default 0. */
  cachedFraction?: number;
  /** Rows per chunk (the last chunk may be shorter). Default TRACE_CHUNK_ROWS (src/trace/format.ts). */
  chunkRows?: number;
  /** Mean time between events in microseconds (exponential gaps, rounded to whole µs). Default 5. */
  meanGapUs?: number;
}

export type ResolvedSynthOptions = Required<SynthOptions>;

export const SYNTH_DEFAULTS: Omit<ResolvedSynthOptions, "events" | "seed"> = {
  inodes: 100_000,
  skew: 0.9,
  meanOpenEvents: 64,
  maxOpenFiles: 4096,
  concurrentOpeners: 32,
  writeFraction: 0.1,
  replaceRate: 0.001,
  redownloadRate: 0.001,
  forgetRate: 0.01,
  directIoFraction: 0,
  cachedFraction: 0,
  chunkRows: TRACE_CHUNK_ROWS,
  meanGapUs: 5,
};

/** Upper bounds that keep the per-inode and per-fh tables, and the uint32 columns, sane. */
export const SYNTH_LIMITS = {
  inodes: 1 << 24,
  maxOpenFiles: 1 << 24,
  concurrentOpeners: 1 << 22,
  chunkRows: 1 << 24,
} as const;

export function resolveSynthOptions(o: SynthOptions): ResolvedSynthOptions {
  // events and seed first: describeSynth lists the knobs in this order.
  const r = { events: o.events, seed: o.seed, ...SYNTH_DEFAULTS } as ResolvedSynthOptions;
  for (const [key, value] of Object.entries(o)) {
    if (value !== undefined) (r as unknown as Record<string, unknown>)[key] = value;
  }
  return r;
}

type Check = (v: number) => string | null;

const integer = (min: number, max: number): Check => (v) =>
  Number.isSafeInteger(v) && v >= min && v <= max ? null : `an integer in [${min}, ${max}]`;
const real = (min: number, max = Infinity): Check => (v) =>
  Number.isFinite(v) && v >= min && v <= max ? null : max === Infinity ? `a finite number ≥ ${min}` : `a number in [${min}, ${max}]`;
const fraction = real(0, 1);

const CHECKS: Record<keyof SynthOptions, Check> = {
  events: integer(1, Number.MAX_SAFE_INTEGER),
  seed: integer(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
  inodes: integer(1, SYNTH_LIMITS.inodes),
  skew: real(0),
  meanOpenEvents: real(1),
  maxOpenFiles: integer(1, SYNTH_LIMITS.maxOpenFiles),
  concurrentOpeners: integer(1, SYNTH_LIMITS.concurrentOpeners),
  writeFraction: fraction,
  replaceRate: fraction,
  redownloadRate: fraction,
  forgetRate: fraction,
  directIoFraction: fraction,
  cachedFraction: fraction,
  chunkRows: integer(1, SYNTH_LIMITS.chunkRows),
  meanGapUs: real(0),
};

/** The first problem with the options, as one line, or null when they are usable. */
export function validateSynthOptions(o: SynthOptions): string | null {
  if (typeof o !== "object" || o === null) return "synth options must be an object";
  for (const key of Object.keys(o)) {
    if (!(key in CHECKS)) return `unknown synth option "${key}"`;
  }
  for (const [key, check] of Object.entries(CHECKS) as [keyof SynthOptions, Check][]) {
    const v = o[key];
    if (v === undefined) {
      if (key === "events" || key === "seed") return `synth option "${key}" is required`;
      continue;
    }
    if (typeof v !== "number") return `synth option "${key}" must be a number, got ${typeof v}`;
    const want = check(v);
    if (want !== null) return `synth option "${key}" must be ${want}, got ${v}`;
  }
  const r = resolveSynthOptions(o);
  // Each open draws one uniform number for its reply flags and one for replace/re-download: the bands must fit.
  if (r.directIoFraction + r.cachedFraction > 1) {
    return `synth options "directIoFraction" + "cachedFraction" must be at most 1, got ${r.directIoFraction + r.cachedFraction}`;
  }
  if (r.replaceRate + r.redownloadRate > 1) {
    return `synth options "replaceRate" + "redownloadRate" must be at most 1, got ${r.replaceRate + r.redownloadRate}`;
  }
  return null;
}
