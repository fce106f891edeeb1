/*
 * The native C build of the replay core: the exported surface of assembly/index.ts, over one byte arena addressed
 * by 32-bit offsets exactly as the wasm32 linear memory is (see core.c). The driver (main.c) plays the part of the
 * TypeScript host (src/replay/wasm.ts).
 */
#ifndef FBREPLAY_NATIVE_CORE_H
#define FBREPLAY_NATIVE_CORE_H

#include <stdbool.h>
#include <stdint.h>

typedef int32_t i32;
typedef uint32_t u32;
typedef int64_t i64;
typedef uint64_t u64;
typedef double f64;
/** A pointer into the arena: 32 bits, as usize is in wasm32. 0 is null. */
typedef uint32_t usize;

/* The contract shared by the core, the host and the model, and the object layouts: generated from src/abi.ts and
 * assembly/layout.ts (scripts/gen-c-abi.mjs). */
#include "abi.h"

/* ---- the arena (wasm32 linear memory) ---- */

/** Maps the arena; false when the address space cannot be reserved. Call once before anything else. */
bool core_init(void);
/** The arena's base: offset p of the core is core_memory() + p. */
uint8_t *core_memory(void);
/** Bytes the core has "grown" its memory to (memory.size × 64 KiB). */
u64 core_memory_bytes(void);

/* ---- assembly/index.ts exports ---- */

bool backing_reserve(u32 inodes, u32 files);
usize backing_sb_new(u32 dev);
void backing_inode_define(u32 index, usize sb, f64 ino);
usize backing_file_add(u32 index);
usize events_create(u32 capacity);
usize events_column(u32 k);
usize ctx_create(i32 policy, i32 daemon, u32 maxInodes, u32 maxFiles, i32 idMax);
usize ctx_counters(usize ctx);
u32 replay(usize ctx, u32 n);
usize counters_create(void);
u32 replay_worker(usize ctx, usize counters, u32 first, u32 n);
void ctx_finish(usize ctx);
void ctx_unmount(usize ctx);
u32 ctx_violations(usize ctx);
/** The first inode that broke an invariant in the last ctx_violations call, or -1. */
extern i32 firstViolation;
/** Where the replay loop's look-ahead loads go (assembly/replay.ts touchSink). */
extern u32 touchSink;

/* The cost-per-check benchmark (assembly/checkbench.ts). main.c does not drive it. */
usize check_setup(usize ctx, u32 n);
u32 check_batch(usize ctx, usize candidates, usize order, u32 mask, u32 count);
usize host_alloc(u32 bytes);
void call_nop(void);

#endif
