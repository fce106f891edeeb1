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

/* ---- src/abi.ts: the contract shared by the core, the host and the model ---- */

/* Event op codes. */
#define OP_OPEN 1
#define OP_RELEASE 2
#define OP_FORGET 3
#define OP_LOOKUP 4
#define OP_RESTART 5
/** A recorded FUSE_DEV_IOC_BACKING_OPEN of bref that the kernel answered with id `bid` (DAEMON_RECORDED only). */
#define OP_BACKING_OPEN 6
/** A recorded FUSE_DEV_IOC_BACKING_CLOSE of id `bid` (DAEMON_RECORDED only). */
#define OP_BACKING_CLOSE 7
#define OP_MAX 7
#define RESTART_CLOSE_ALL 1

/* open(2) access mode. */
#define O_ACCMODE_ 3
#define O_RDONLY_ 0

/* FOPEN_* reply flags (include/uapi/linux/fuse.h, spec §a.5). */
#define FOPEN_DIRECT_IO 0x1
#define FOPEN_KEEP_CACHE 0x2
#define FOPEN_PARALLEL_DIRECT_WRITES 0x40
#define FOPEN_PASSTHROUGH 0x80
#define FOPEN_PASSTHROUGH_INODE_CACHE 0x100
#define FOPEN_PASSTHROUGH_MASK 0xe1

/* Policies (spec §d). */
#define POLICY_PTR 0
#define POLICY_INODE 1
#define POLICY_DIGEST 2
#define POLICY_REUSE 3
#define POLICY_LOOKUP 4

/* Daemon models. */
#define DAEMON_PER_INODE 0
#define DAEMON_PER_OPEN 1
/** The ids a real daemon used, from the capture: OPEN rows carry theirs in `bid`, registrations are rows. */
#define DAEMON_RECORDED 2

/* fuse_file.iomode */
#define IOM_NONE 0
#define IOM_CACHED 1
#define IOM_UNCACHED 2

/* errno values, positive (the core returns -errno). Named as in abi.ts; the libc macros are not used. */
#define EPERM_ 1
#define ENOENT_ 2
#define EIO_ 5
#define EBUSY_ 16
#define EINVAL_ 22
#define ETXTBSY_ 26
#define ENOSPC_ 28

#define ID_MAX_DEFAULT 0x7fffffff

/* The results block: one i64 counter per index. */
#define C_EVENTS 0
#define C_OPENS 1
#define C_PT_OPENS 2
#define C_ACCEPTED 3
#define C_CACHED_OPENS 4
#define C_DIRECT_OPENS 5
#define C_EBUSY 6
#define C_ETXTBSY 7
#define C_EINVAL 8
#define C_ENOENT 9
#define C_EIO_MODE 10
#define C_EIO 11
#define C_DIVERGED 12
#define C_UNSAFE 13
#define C_STALE 14
#define C_RELEASES 15
#define C_FORGETS 16
#define C_RESTARTS 17
#define C_BACKING_OPENS 18
#define C_BACKING_CLOSES 19
#define C_ENOSPC 20
#define C_LIVE_BACKINGS 21
#define C_PEAK_BACKINGS 22
#define C_LIVE_IDS 23
#define C_PEAK_IDS 24
#define C_BACKING_FREES 25
#define C_LOCK_ACQUISITIONS 26
#define C_LOCK_SPINS 27
#define C_ANOMALIES 28
#define C_A_UNKNOWN_OP 29
#define C_A_NODEID_RANGE 30
#define C_A_FH_RANGE 31
#define C_A_BREF_RANGE 32
#define C_A_RELEASE_UNOPENED 33
#define C_A_FH_IN_USE 34
#define C_A_FORGET_BUSY 35
#define C_A_FORGET_UNKNOWN 36
#define C_OPEN_AT_END 37
/** A recorded registration or close the model's idr does not reproduce (the replay then follows the recorded ids). */
#define C_A_RECORDED_ID 38
#define N_COUNTERS 39
#define COUNTER_SLOTS 64

#define STATUS_OK 0
#define STATUS_BACKING_CAPACITY 1

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
