// One replay context per policy: its connection, inodes, files, daemon table and counters, in linear memory.
// The context being replayed is mirrored in globals so the hot path reads base pointers without a load.
import { heapAlloc } from "./heap";
import { DI_SIZE, FF_DAEMON_GEN, FF_SIZE, FI_SIZE, IDR_SLOT, UNTRACKED } from "./layout";

// Context header fields.
const CTX_COUNTERS: usize = 0; // COUNTER_SLOTS × i64
const CTX_POLICY: usize = 512;
const CTX_DAEMON: usize = 516;
const CTX_MAX_INODES: usize = 520;
const CTX_MAX_FILES: usize = 524;
const CTX_ID_MAX: usize = 532;
const CTX_INODES: usize = 536;
const CTX_DINODES: usize = 540;
const CTX_FILES: usize = 544;
/** The current slab segment: fuse_backing objects and, paired by index, their struct files. */
export const CTX_FB_SEG: usize = 548;
export const CTX_FILE_SEG: usize = 552;
export const CTX_IDR: usize = 556;
export const CTX_IDR_MASK: usize = 560;
export const CTX_IDR_CURSOR: usize = 564;
export const CTX_IDR_COUNT: usize = 568;
export const CTX_DAEMON_GEN: usize = 572;
export const CTX_FB_FREE: usize = 576;
/** Objects handed out from the current segment. */
export const CTX_FB_USED: usize = 580;
export const CTX_LIVE_BACKINGS: usize = 584;
const CTX_SIZE: usize = 640;

// Globals of the entered context.
export let ctx: usize = 0;
export let counters: usize = 0;
export let policy: i32 = 0;
export let daemon: i32 = 0;
export let maxInodes: u32 = 0;
export let maxFiles: u32 = 0;
export let idMax: i32 = 0;
export let inodes: usize = 0;
export let dinodes: usize = 0;
export let files: usize = 0;
export let idr: usize = 0;
export let idrMask: u32 = 0;

/** The idr was replaced by a larger table. */
export function setIdr(table: usize, mask: u32): void {
  idr = table;
  idrMask = mask;
  store<usize>(ctx, table, CTX_IDR);
  store<u32>(ctx, mask, CTX_IDR_MASK);
}

// The shared backing-file table.
export let brefs: usize = 0;
export let nBrefs: u32 = 0;

export function setBackingTable(table: usize, count: u32): void {
  brefs = table;
  nBrefs = count;
}

/** Slots of a new context's idr; it doubles when half full. */
const IDR_INITIAL_SLOTS: u32 = 1024;

/** Allocates a context; 0 when memory is exhausted. */
export function ctxCreate(policyCode: i32, daemonCode: i32, nInodes: u32, nFiles: u32, maxId: i32): usize {
  const c = heapAlloc(CTX_SIZE);
  if (c == 0) return 0;
  const ino = heapAlloc(<usize>nInodes * FI_SIZE);
  const din = heapAlloc(<usize>nInodes * DI_SIZE);
  const fil = heapAlloc(<usize>nFiles * FF_SIZE);
  const id = heapAlloc(<usize>IDR_INITIAL_SLOTS * IDR_SLOT);
  if (ino == 0 || din == 0 || fil == 0 || id == 0) return 0;
  store<i32>(c, policyCode, CTX_POLICY);
  store<i32>(c, daemonCode, CTX_DAEMON);
  store<u32>(c, nInodes, CTX_MAX_INODES);
  store<u32>(c, nFiles, CTX_MAX_FILES);
  store<i32>(c, maxId, CTX_ID_MAX);
  store<usize>(c, ino, CTX_INODES);
  store<usize>(c, din, CTX_DINODES);
  store<usize>(c, fil, CTX_FILES);
  store<usize>(c, id, CTX_IDR);
  store<u32>(c, IDR_INITIAL_SLOTS - 1, CTX_IDR_MASK);
  for (let f: u32 = 0; f < nFiles; f++) store<i32>(fil + <usize>f * FF_SIZE, UNTRACKED, FF_DAEMON_GEN);
  return c;
}

export function ctxEnter(c: usize): void {
  ctx = c;
  counters = c + CTX_COUNTERS;
  policy = load<i32>(c, CTX_POLICY);
  daemon = load<i32>(c, CTX_DAEMON);
  maxInodes = load<u32>(c, CTX_MAX_INODES);
  maxFiles = load<u32>(c, CTX_MAX_FILES);
  idMax = load<i32>(c, CTX_ID_MAX);
  inodes = load<usize>(c, CTX_INODES);
  dinodes = load<usize>(c, CTX_DINODES);
  files = load<usize>(c, CTX_FILES);
  idr = load<usize>(c, CTX_IDR);
  idrMask = load<u32>(c, CTX_IDR_MASK);
}

export function ctxCounters(c: usize): usize {
  return c + CTX_COUNTERS;
}

// Counter updates.
// @ts-ignore: decorator
@inline export function inc(counter: i32): void {
  const p = counters + (<usize>counter << 3);
  store<i64>(p, load<i64>(p) + 1);
}

// @ts-ignore: decorator
@inline export function setCounter(counter: i32, value: i64): void {
  store<i64>(counters + (<usize>counter << 3), value);
}

// @ts-ignore: decorator
@inline export function raisePeak(counter: i32, value: i64): void {
  const p = counters + (<usize>counter << 3);
  if (value > load<i64>(p)) store<i64>(p, value);
}

// @ts-ignore: decorator
@inline export function ctxLoad(field: usize): i32 {
  return load<i32>(ctx + field);
}

// @ts-ignore: decorator
@inline export function ctxStore(field: usize, value: i32): void {
  store<i32>(ctx + field, value);
}

// @ts-ignore: decorator
@inline export function inodeAt(nodeid: u32): usize {
  return inodes + <usize>nodeid * FI_SIZE;
}

// @ts-ignore: decorator
@inline export function dinodeAt(nodeid: u32): usize {
  return dinodes + <usize>nodeid * DI_SIZE;
}

// @ts-ignore: decorator
@inline export function fileAt(fh: u32): usize {
  return files + <usize>fh * FF_SIZE;
}

