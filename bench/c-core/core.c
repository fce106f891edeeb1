/*
 * The replay core in C: a line-by-line transliteration of the AssemblyScript core (the .ts files of assembly/),
 * for the benchmark's "native C build of the same loop and memory layout".
 *
 * Memory model: one byte arena addressed by 32-bit offsets, as wasm32 linear memory is. Every object has the size,
 * the field offsets and the 4-byte pointers it has in wasm; offset 0 is null. The arena is one 4 GiB mapping
 * reserved up front (MAP_NORESERVE: pages cost nothing until written), so memory.grow is bookkeeping only and the
 * core sees the same page limit (65536 pages of 64 KiB) as the wasm module. LOAD/STORE keep the argument order of
 * AssemblyScript's load<T>(ptr, offset) and store<T>(ptr, value, offset); every access is naturally aligned.
 *
 * Each section names the .ts file it comes from, and each function the AS function (same names, same order of
 * statements). AS `assert`s are left out, as the release wasm build (noAssert) leaves them out. The spinlock is
 * a compare-and-swap (acquire) and an atomic store (release) on the i32 at fi+FI_LOCK, taken where the wasm core
 * takes it, so its cost is in the measurement as it is in wasm. `THREADED` (assembly/config.ts) is 0, as in the
 * release wasm build the benchmark runs; its paths are transliterated too (see FBR_THREADED below).
 */
#include "core.h"

#include <string.h>
#include <sys/mman.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The unlock's memory order. A release store is a plain mov on x86-64: the kernel's spin_unlock, and what the AS
 * core's plain store<i32> compiles to. -DFB_UNLOCK_ORDER=__ATOMIC_SEQ_CST gives wasm's i32.atomic.store instead
 * (an xchg), to see what that costs. */
#ifndef FB_UNLOCK_ORDER
#define FB_UNLOCK_ORDER __ATOMIC_RELEASE
#endif

/* ==== the arena: wasm32 linear memory ==== */

#define WASM_PAGE 65536u
/** wasm32's limit: 4 GiB. */
#define MAX_PAGES 65536
/** The AS stub runtime's __heap_base when the module has no data segments; HEAP_STATE rounds it up to 64. */
#define HEAP_BASE 8u

static uint8_t *mem;
/** memory.size(): the host instantiates the core with one page (src/replay/wasm.ts). */
static i32 memPages = 1;

#define LOAD(T, ptr, offset) (*(T *)(mem + (usize)(ptr) + (offset)))
#define STORE(T, ptr, value, offset) (*(T *)(mem + (usize)(ptr) + (offset)) = (T)(value))

bool core_init(void) {
  void *p = mmap(NULL, (size_t)MAX_PAGES * WASM_PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;
  mem = p;
  return true;
}

uint8_t *core_memory(void) { return mem; }

u64 core_memory_bytes(void) { return (u64)memPages * WASM_PAGE; }

/** memory.grow(delta): the previous size in pages, or -1 past the limit. */
static i32 memoryGrow(i32 delta) {
  i32 before = memPages;
  if (delta < 0 || (i64)before + delta > MAX_PAGES) return -1;
  memPages = before + delta;
  return before;
}

static inline i32 max_i32(i32 a, i32 b) { return a > b ? a : b; }

/* assembly/layout.ts: in abi.h, generated from it. */

/** atomic.cmpxchg<i32>(p, expected, replacement) == expected: a compare-and-swap on the i32 at arena offset p. */
static inline bool atomicCas(usize p, i32 expected, i32 replacement) {
  return __atomic_compare_exchange_n((i32 *)(mem + p), &expected, replacement, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* ==== assembly/config.ts: build-time switches ==== */

/* The threaded build (the AS `shared` target): several workers replay into one shared memory. It adds the
 * connection's lock around the idr and the slabs, atomic reference counts, per-worker counters and a daemon lock per
 * nodeid stripe. The C driver (main.c) is single-threaded and built with 0; -DFBR_THREADED=1 compiles the same
 * paths with GCC's __atomic builtins (sequentially consistent, as wasm atomics are), for a threaded driver. */
#ifndef FBR_THREADED
#define FBR_THREADED 0
#endif
#define THREADED FBR_THREADED

/* ==== assembly/heap.ts ==== */
/* A bump allocator over linear memory. Its state lives in memory, not in globals, so that instances sharing one
 * memory (the threaded build's workers) share one heap. */

#define HEAP_STATE ((HEAP_BASE + 63) & ~(usize)63)
#define HEAP_TOP 0u
#define HEAP_LOCK 4u
/** A line of state shared by every instance on this memory, for icache.ts (its tables and slab). */
#define SHARED_STATE (HEAP_STATE + 64)
#define FIRST_OBJECT (HEAP_STATE + 128)

/** heapAlloc: zeroed, 64-byte aligned memory for `bytes`; 0 when memory cannot grow that far. */
static usize heapAlloc(usize bytes) {
  if (THREADED) while (!atomicCas(HEAP_STATE + HEAP_LOCK, 0, 1)) continue;
  usize ptr = LOAD(usize, HEAP_STATE, HEAP_TOP);
  if (ptr == 0) ptr = FIRST_OBJECT; /* the first allocation from this memory */
  usize end = (ptr + bytes + 63) & ~(usize)63;
  const i32 needPages = (i32)((end + 0xffff) >> 16);
  const i32 havePages = memPages;
  if (needPages > havePages) {
    /* Grow by half again at least (in wasm every grow makes the host collect garbage). */
    const i32 extra = max_i32(needPages - havePages, max_i32(havePages >> 1, 16));
    if (memoryGrow(extra) < 0 && memoryGrow(needPages - havePages) < 0) {
      ptr = 0;
      end = LOAD(usize, HEAP_STATE, HEAP_TOP);
    }
  }
  STORE(usize, HEAP_STATE, end, HEAP_TOP);
  if (THREADED) __atomic_store_n((i32 *)(mem + HEAP_STATE + HEAP_LOCK), 0, __ATOMIC_SEQ_CST);
  return ptr;
}

/* ==== assembly/ctx.ts ==== */
/* Context header fields. Two cache lines after the counters: what every event reads (set up once, or changed at a
 * restart), and fc->lock with what it guards, which backing opens and closes write. */

#define CTX_COUNTERS 0u /* COUNTER_SLOTS × i64 */
#define CTX_POLICY 512u
#define CTX_DAEMON 516u
#define CTX_MAX_INODES 520u
#define CTX_MAX_FILES 524u
#define CTX_ID_MAX 532u
#define CTX_INODES 536u
#define CTX_DINODES 540u
#define CTX_FILES 544u
#define CTX_DAEMON_GEN 548u
/** The daemon's locks, one per stripe of nodeids (threaded build). */
#define CTX_DAEMON_LOCKS 552u
#define CTX_IDR 556u
#define CTX_IDR_MASK 560u
/** What each backing inode holds now as this context's replay has seen it (digest pointer per index, 0: its first
 * version), and the table's length: per context, as the policies of a session replay a chunk one after the other. */
#define CTX_CONTENT 564u
#define CTX_CONTENT_CAP 568u
/** fc->lock (threaded build), then what it guards: the idr's cursor and count, the fuse_backing slab. */
#define CTX_LOCK 576u
#define CTX_IDR_CURSOR 580u
#define CTX_IDR_COUNT 584u
#define CTX_FB_FREE 588u
/** The current slab segment: fuse_backing objects and, paired by index, their struct files. */
#define CTX_FB_SEG 592u
#define CTX_FILE_SEG 596u
/** Objects handed out from the current segment. */
#define CTX_FB_USED 600u
#define CTX_LIVE_BACKINGS 604u
#define CTX_SIZE 640u

/* Globals of the entered context. */
static usize ctx = 0;
static usize counters = 0;
static i32 policy = 0;
static i32 daemon = 0;
static u32 maxInodes = 0;
static u32 maxFiles = 0;
static i32 idMax = 0;
static usize inodes = 0;
static usize dinodes = 0;
static usize files = 0;
static usize idr = 0;
static u32 idrMask = 0;
static usize contents = 0;

/** setIdr: the idr was replaced by a larger table. */
static void setIdr(usize table, u32 mask) {
  idr = table;
  idrMask = mask;
  STORE(usize, ctx, table, CTX_IDR);
  STORE(u32, ctx, mask, CTX_IDR_MASK);
}

/* The shared backing-file table (icache), mirrored at ctxEnter: the host only extends it between replays. */
static usize brefs = 0;
static u32 nBrefs = 0;

static inline usize brefTable(void);
static inline u32 brefCount(void);
static inline u32 inodeCapacity(void);

/** Slots of a new context's idr; it doubles when half full. */
#define IDR_INITIAL_SLOTS 1024u
/** Nodeids per daemon lock: a real daemon's per-inode mutex, striped to keep the table small; a line each. */
#define DAEMON_LOCK_STRIPES 1024u

/** ctxCreate: allocates a context; 0 when memory is exhausted. */
static usize ctxCreate(i32 policyCode, i32 daemonCode, u32 nInodes, u32 nFiles, i32 maxId) {
  const usize c = heapAlloc(CTX_SIZE);
  if (c == 0) return 0;
  const usize ino = heapAlloc((usize)nInodes * FI_SIZE);
  const usize din = heapAlloc((usize)nInodes * DI_SIZE);
  const usize fil = heapAlloc((usize)nFiles * FF_SIZE);
  const usize id = heapAlloc((usize)IDR_INITIAL_SLOTS * IDR_SLOT);
  if (ino == 0 || din == 0 || fil == 0 || id == 0) return 0;
  STORE(i32, c, policyCode, CTX_POLICY);
  STORE(i32, c, daemonCode, CTX_DAEMON);
  STORE(u32, c, nInodes, CTX_MAX_INODES);
  STORE(u32, c, nFiles, CTX_MAX_FILES);
  STORE(i32, c, maxId, CTX_ID_MAX);
  STORE(usize, c, ino, CTX_INODES);
  STORE(usize, c, din, CTX_DINODES);
  STORE(usize, c, fil, CTX_FILES);
  STORE(usize, c, id, CTX_IDR);
  STORE(u32, c, IDR_INITIAL_SLOTS - 1, CTX_IDR_MASK);
  for (u32 f = 0; f < nFiles; f++) STORE(i32, fil + (usize)f * FF_SIZE, UNTRACKED, FF_DAEMON_GEN);
  if (THREADED) {
    const usize locks = heapAlloc((usize)DAEMON_LOCK_STRIPES << 6);
    if (locks == 0) return 0;
    STORE(usize, c, locks, CTX_DAEMON_LOCKS);
  }
  return c;
}

static void ctxEnter(usize c) {
  ctx = c;
  counters = c + CTX_COUNTERS;
  policy = LOAD(i32, c, CTX_POLICY);
  daemon = LOAD(i32, c, CTX_DAEMON);
  maxInodes = LOAD(u32, c, CTX_MAX_INODES);
  maxFiles = LOAD(u32, c, CTX_MAX_FILES);
  idMax = LOAD(i32, c, CTX_ID_MAX);
  inodes = LOAD(usize, c, CTX_INODES);
  dinodes = LOAD(usize, c, CTX_DINODES);
  files = LOAD(usize, c, CTX_FILES);
  idr = LOAD(usize, c, CTX_IDR);
  idrMask = LOAD(u32, c, CTX_IDR_MASK);
  brefs = brefTable();
  nBrefs = brefCount();
  /* The backing table may have grown since the last replay: the content table follows it (zeroed = first versions). */
  const u32 need = inodeCapacity();
  const u32 cap = LOAD(u32, c, CTX_CONTENT_CAP);
  if (cap < need) {
    const usize grown = heapAlloc((usize)need << 2);
    if (grown != 0) {
      if (cap > 0) memcpy(mem + grown, mem + LOAD(usize, c, CTX_CONTENT), (size_t)cap << 2);
      STORE(usize, c, grown, CTX_CONTENT);
      STORE(u32, c, need, CTX_CONTENT_CAP);
    }
  }
  contents = LOAD(usize, c, CTX_CONTENT);
}

/** ctxCountInto: the entered context's counters go to `block` instead (a worker of the threaded build). */
static void ctxCountInto(usize block) { counters = block; }

/* ---- locks of the threaded build (no-ops otherwise) ---- */

/** connLock: spin_lock(&fc->lock). The idr may have been replaced by another worker: its mirror is reloaded. */
static inline void connLock(void) {
  if (THREADED) {
    while (!atomicCas(ctx + CTX_LOCK, 0, 1)) continue;
    idr = LOAD(usize, ctx, CTX_IDR);
    idrMask = LOAD(u32, ctx, CTX_IDR_MASK);
  }
}

static inline void connUnlock(void) {
  if (THREADED) __atomic_store_n((i32 *)(mem + ctx + CTX_LOCK), 0, __ATOMIC_RELEASE); /* x86: a plain store */
}

static inline usize daemonLockWord(u32 nodeid) {
  return LOAD(usize, ctx, CTX_DAEMON_LOCKS) + ((usize)(nodeid & (DAEMON_LOCK_STRIPES - 1)) << 6);
}

static inline void daemonLock(u32 nodeid) {
  if (THREADED) while (!atomicCas(daemonLockWord(nodeid), 0, 1)) continue;
}

static inline void daemonUnlock(u32 nodeid) {
  if (THREADED) __atomic_store_n((i32 *)(mem + daemonLockWord(nodeid)), 0, __ATOMIC_RELEASE);
}

/** addShared: adds `delta` to an i32 field that workers of the threaded build update outside any lock. */
static inline i32 addShared(usize p, i32 delta) {
  if (THREADED) return __atomic_add_fetch((i32 *)(mem + p), delta, __ATOMIC_SEQ_CST);
  const i32 v = LOAD(i32, p, 0) + delta;
  STORE(i32, p, v, 0);
  return v;
}

static usize ctxCounters(usize c) { return c + CTX_COUNTERS; }

/* Counter updates. */
static inline void inc(i32 counter) {
  const usize p = counters + ((usize)counter << 3);
  STORE(i64, p, LOAD(i64, p, 0) + 1, 0);
}

static inline void setCounter(i32 counter, i64 value) { STORE(i64, counters + ((usize)counter << 3), value, 0); }

static inline void raisePeak(i32 counter, i64 value) {
  const usize p = counters + ((usize)counter << 3);
  if (value > LOAD(i64, p, 0)) STORE(i64, p, value, 0);
}

static inline i32 ctxLoad(usize field) { return LOAD(i32, ctx + field, 0); }

static inline void ctxStore(usize field, i32 value) { STORE(i32, ctx + field, value, 0); }

static inline usize inodeAt(u32 nodeid) { return inodes + (usize)nodeid * FI_SIZE; }

static inline usize dinodeAt(u32 nodeid) { return dinodes + (usize)nodeid * DI_SIZE; }

static inline usize fileAt(u32 fh) { return files + (usize)fh * FF_SIZE; }

/* ==== assembly/icache.ts: backing inodes and file versions (shared by every context) ==== */
/* Like the kernel's inode cache, a struct inode exists only while a struct file references it. The tables and the
 * inode slab live in memory (heap's SHARED_STATE), so instances sharing a memory share them. */

#define INODE_TABLE 0u
#define INODE_CAPACITY 4u
#define BREF_TABLE 8u
#define BREF_CAPACITY 12u
#define BREF_COUNT 16u
#define DIGEST_SEGMENT 20u
#define DIGESTS_USED 24u
#define INODE_SEGMENT 28u
#define INODES_USED 32u
#define INODE_FREE 36u

static inline u32 get(usize field) { return LOAD(u32, SHARED_STATE + field, 0); }

static inline void set(usize field, u32 value) { STORE(u32, SHARED_STATE + field, value, 0); }

/** brefTable: the backing-file table, BR_SIZE entries, one per file version (bref). */
static inline usize brefTable(void) { return get(BREF_TABLE); }

/** brefCount: file versions in the table. */
static inline u32 brefCount(void) { return get(BREF_COUNT); }

/** inodeCapacity: backing inodes the table has room for. */
static inline u32 inodeCapacity(void) { return get(INODE_CAPACITY); }

static inline usize inodeEntry(u32 index) { return get(INODE_TABLE) + (usize)index * IT_SIZE; }

/** regrow: grows a table of `size`-byte entries to `capacity`, keeping `used` entries; 0 when memory is exhausted. */
static usize regrow(usize table, u32 used, u32 capacity, usize size) {
  const usize grown = heapAlloc((usize)capacity * size);
  if (grown != 0 && used > 0) memmove(mem + grown, mem + table, (usize)used * size); /* memory.copy */
  return grown;
}

/** backingReserve: room for `inodes` backing inodes and `files` file versions in all. */
static bool backingReserve(u32 nInodes, u32 nFiles) {
  if (nInodes > get(INODE_CAPACITY)) {
    const usize t = regrow(get(INODE_TABLE), get(INODE_CAPACITY), nInodes, IT_SIZE);
    if (t == 0) return false;
    set(INODE_TABLE, t);
    set(INODE_CAPACITY, nInodes);
  }
  if (nFiles > get(BREF_CAPACITY)) {
    const usize t = regrow(get(BREF_TABLE), get(BREF_COUNT), nFiles, BR_SIZE);
    if (t == 0) return false;
    set(BREF_TABLE, t);
    set(BREF_CAPACITY, nFiles);
  }
  return true;
}

static usize superBlockNew(u32 dev) {
  const usize sb = heapAlloc(SB_SIZE);
  if (sb != 0) STORE(u32, sb, dev, S_DEV);
  return sb;
}

static void backingInodeDefine(u32 index, usize sb, f64 ino) {
  const usize e = inodeEntry(index);
  STORE(usize, e, sb, IT_SB);
  STORE(f64, e, ino, IT_INO);
}

/* Digests live in segments so the pointers a fuse_backing keeps stay valid as the table grows. */
#define DIGESTS_PER_SEGMENT 2048u

/** backingFileAdd: appends a file version of backing inode `index` as the next bref; returns where its digest goes. */
static usize backingFileAdd(u32 index) {
  const u32 count = get(BREF_COUNT);
  if (count >= get(BREF_CAPACITY) || index >= get(INODE_CAPACITY)) return 0;
  if (get(DIGEST_SEGMENT) == 0 || get(DIGESTS_USED) == DIGESTS_PER_SEGMENT) {
    const usize segment = heapAlloc((usize)DIGESTS_PER_SEGMENT * DIGEST_SIZE);
    if (segment == 0) return 0;
    set(DIGEST_SEGMENT, segment);
    set(DIGESTS_USED, 0);
  }
  const u32 used = get(DIGESTS_USED);
  const usize digest = get(DIGEST_SEGMENT) + (usize)used * DIGEST_SIZE;
  set(DIGESTS_USED, used + 1);
  const usize p = get(BREF_TABLE) + (usize)count * BR_SIZE;
  const usize e = inodeEntry(index);
  if (LOAD(usize, e, IT_CONTENT) == 0) STORE(usize, e, digest, IT_CONTENT); /* until an event names a version */
  STORE(u32, p, index, BR_INODE_INDEX);
  STORE(usize, p, digest, BR_DIGEST);
  set(BREF_COUNT, count + 1);
  return digest;
}

/* ---- struct inode objects: a slab with a free list (under the connection lock in the threaded build) ---- */

#define INODES_PER_SEGMENT 1024u

static usize inodeAlloc(void) {
  const usize free = get(INODE_FREE);
  if (free != 0) {
    set(INODE_FREE, LOAD(u32, free, I_NEXT_FREE));
    return free;
  }
  if (get(INODE_SEGMENT) == 0 || get(INODES_USED) == INODES_PER_SEGMENT) {
    const usize segment = heapAlloc((usize)INODES_PER_SEGMENT * INODE_SIZE);
    if (segment == 0) return 0;
    set(INODE_SEGMENT, segment);
    set(INODES_USED, 0);
  }
  const u32 used = get(INODES_USED);
  set(INODES_USED, used + 1);
  return get(INODE_SEGMENT) + (usize)used * INODE_SIZE;
}

/** igrab: a reference on the backing inode of file version `bref` (iget), made on first use. 0 if OOM. */
static usize igrab(usize bref) {
  const u32 index = LOAD(u32, bref, BR_INODE_INDEX);
  const usize e = inodeEntry(index);
  usize inode = LOAD(usize, e, IT_OBJECT);
  if (inode == 0) {
    inode = inodeAlloc();
    if (inode == 0) return 0;
    STORE(usize, inode, LOAD(usize, e, IT_SB), I_SB);
    STORE(u64, inode, (u64)LOAD(f64, e, IT_INO), I_INO);
    STORE(i32, inode, 0, I_COUNT);
    STORE(u32, inode, index, I_MODEL_INDEX);
    STORE(usize, e, inode, IT_OBJECT);
  }
  STORE(i32, inode, LOAD(i32, inode, I_COUNT) + 1, I_COUNT);
  return inode;
}

/** iput: drops a reference; the last one frees the object. */
static void iput(usize inode) {
  const i32 count = LOAD(i32, inode, I_COUNT) - 1;
  STORE(i32, inode, count, I_COUNT);
  if (count > 0) return;
  STORE(usize, inodeEntry(LOAD(u32, inode, I_MODEL_INDEX)), 0, IT_OBJECT);
  STORE(u32, inode, get(INODE_FREE), I_NEXT_FREE);
  set(INODE_FREE, inode);
}

/** noteContent: file version `bref` is what its inode holds now (an event named it), in this context's table. */
static inline void noteContent(usize table, usize bref) {
  const usize slot = table + ((usize)LOAD(u32, bref, BR_INODE_INDEX) << 2);
  const usize digest = LOAD(usize, bref, BR_DIGEST);
  if (LOAD(usize, slot, 0) != digest) STORE(usize, slot, digest, 0);
}

/** touchBackingInode: loads of file version `bref`'s backing-inode entry and content slot, ahead of use. */
static inline u32 touchBackingInode(usize table, usize bref) {
  const u32 index = LOAD(u32, bref, BR_INODE_INDEX);
  return LOAD(u32, inodeEntry(index), IT_OBJECT) + LOAD(u32, table + ((usize)index << 2), 0);
}

/** currentContent: the digest of what backing inode `index` holds now in the replay using `table`. */
static inline usize currentContent(usize table, u32 index) {
  const usize noted = LOAD(usize, table + ((usize)index << 2), 0);
  return noted != 0 ? noted : LOAD(usize, inodeEntry(index), IT_CONTENT);
}

/* ==== assembly/backing.ts: the idr and the fuse_backing slab (spec §a.1, §a.2, §b.1, §b.2, §b.13) ==== */

/** Set when memory cannot grow: the replay stops and the host reports it. */
static bool backingCapacityExceeded = false;

static void resetCapacityFlag(void) { backingCapacityExceeded = false; }

/* In the threaded build the slab, the idr and the backing inodes are changed only under the connection's lock, and
 * reference counts are atomic (refcount_t). */

/** Objects per slab segment. A freed fuse_backing keeps its struct file, as both come back together. */
#define SEGMENT_OBJECTS 4096u

static void backingPut(usize fb);

static usize fbAlloc(usize bref) {
  const usize inode = igrab(bref);
  if (inode == 0) return 0;
  usize fb = (usize)ctxLoad(CTX_FB_FREE);
  if (fb != 0) {
    ctxStore(CTX_FB_FREE, LOAD(i32, fb, FB_NEXT_FREE));
  } else {
    u32 used = (u32)ctxLoad(CTX_FB_USED);
    if (ctxLoad(CTX_FB_SEG) == 0 || used == SEGMENT_OBJECTS) {
      const usize fbSeg = heapAlloc((usize)SEGMENT_OBJECTS * FB_SIZE);
      const usize fileSeg = heapAlloc((usize)SEGMENT_OBJECTS * FILE_SIZE);
      if (fbSeg == 0 || fileSeg == 0) {
        iput(inode);
        return 0;
      }
      ctxStore(CTX_FB_SEG, (i32)fbSeg);
      ctxStore(CTX_FILE_SEG, (i32)fileSeg);
      used = 0;
    }
    ctxStore(CTX_FB_USED, (i32)(used + 1));
    fb = (usize)ctxLoad(CTX_FB_SEG) + (usize)used * FB_SIZE;
    STORE(usize, fb, (usize)ctxLoad(CTX_FILE_SEG) + (usize)used * FILE_SIZE, FB_FILE);
  }
  const usize file = LOAD(usize, fb, FB_FILE);
  STORE(usize, file, inode, F_INODE);
  STORE(i32, fb, 1, FB_COUNT);
  STORE(usize, fb, LOAD(usize, bref, BR_DIGEST), FB_DIGEST);
  STORE(u32, fb, LOAD(u32, bref, BR_INODE_INDEX), FB_INODE_INDEX);
  const i32 live = ctxLoad(CTX_LIVE_BACKINGS) + 1;
  ctxStore(CTX_LIVE_BACKINGS, live);
  setCounter(C_LIVE_BACKINGS, live);
  raisePeak(C_PEAK_BACKINGS, live);
  return fb;
}

static void fbFree(usize fb) {
  iput(LOAD(usize, LOAD(usize, fb, FB_FILE), F_INODE));
  STORE(i32, fb, ctxLoad(CTX_FB_FREE), FB_NEXT_FREE);
  ctxStore(CTX_FB_FREE, (i32)fb);
  const i32 live = ctxLoad(CTX_LIVE_BACKINGS) - 1;
  ctxStore(CTX_LIVE_BACKINGS, live);
  setCounter(C_LIVE_BACKINGS, live);
  inc(C_BACKING_FREES);
}

static inline usize backingGet(usize fb) {
  if (THREADED) __atomic_add_fetch((i32 *)(mem + fb + FB_COUNT), 1, __ATOMIC_SEQ_CST);
  else STORE(i32, fb, LOAD(i32, fb, FB_COUNT) + 1, FB_COUNT);
  return fb;
}

/** dropReference (refcount_dec_and_test): true when this put dropped the last reference. */
static inline bool dropReference(usize fb) {
  /* assert(count > 0, "fuse_backing put with count 0"): noAssert in the release build */
  if (THREADED) return __atomic_sub_fetch((i32 *)(mem + fb + FB_COUNT), 1, __ATOMIC_SEQ_CST) == 0;
  const i32 count = LOAD(i32, fb, FB_COUNT) - 1;
  STORE(i32, fb, count, FB_COUNT);
  return count == 0;
}

static void backingPut(usize fb) {
  if (dropReference(fb)) {
    connLock();
    fbFree(fb);
    connUnlock();
  }
}

/** backingPutLocked: a put with the connection's lock held. */
static void backingPutLocked(usize fb) {
  if (dropReference(fb)) fbFree(fb);
}

/** getUnlessZero (refcount_inc_not_zero): a dying object (count 0) gets no new reference. */
static inline bool getUnlessZero(usize fb) {
  if (!THREADED) {
    const i32 count = LOAD(i32, fb, FB_COUNT);
    if (count == 0) return false;
    STORE(i32, fb, count + 1, FB_COUNT);
    return true;
  }
  i32 count = __atomic_load_n((i32 *)(mem + fb + FB_COUNT), __ATOMIC_SEQ_CST);
  while (count != 0) {
    /* on failure `count` becomes the value seen, as the AS loop's `count = seen` */
    if (__atomic_compare_exchange_n((i32 *)(mem + fb + FB_COUNT), &count, count + 1, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST)) {
      return true;
    }
  }
  return false;
}

/* ---- the idr: open addressing keyed by id; cyclic ids are sequential, so `id & mask` spreads them ---- */

/* Fibonacci hashing: consecutive (and leaked) ids scattered over the table, so probe runs stay short. The table
 * has at least 1024 slots, so idrMask is never 0 (clz of 0 is undefined). */
static inline usize idrSlot(i32 id) { return idr + (usize)(((u32)id * 0x9e3779b9u) >> __builtin_clz(idrMask)) * IDR_SLOT; }

static inline usize idrNext(usize slot) { return idr + (((slot - idr) / IDR_SLOT + 1) & idrMask) * IDR_SLOT; }

/** idrFind: the slot holding `id`, or 0. */
static usize idrFind(i32 id) {
  usize slot = idrSlot(id);
  while (true) {
    const i32 key = LOAD(i32, slot, 0);
    if (key == id) return slot;
    if (key == 0) return 0;
    slot = idrNext(slot);
  }
}

static void idrInsert(i32 id, usize fb);

/** idrReserve: doubles the table when it would pass half full, so probe chains stay short. */
static bool idrReserve(i32 count) {
  const usize slots = (usize)idrMask + 1;
  if ((usize)(count + 1) * 2 <= slots) return true;
  const usize oldTable = idr;
  const usize table = heapAlloc(slots * 2 * IDR_SLOT);
  if (table == 0) return false;
  setIdr(table, (u32)(slots * 2 - 1));
  for (usize i = 0; i < slots; i++) {
    const usize slot = oldTable + i * IDR_SLOT;
    const i32 id = LOAD(i32, slot, 0);
    if (id != 0) idrInsert(id, LOAD(usize, slot, 4));
  }
  return true;
}

static void idrInsert(i32 id, usize fb) {
  usize slot = idrSlot(id);
  while (LOAD(i32, slot, 0) != 0) slot = idrNext(slot);
  STORE(i32, slot, id, 0);
  STORE(usize, slot, fb, 4);
}

/** idrRemoveSlot: removes the entry at `slot`, shifting later entries of its probe chain back (no tombstones). */
static void idrRemoveSlot(usize slot) {
  usize hole = slot;
  usize next = idrNext(hole);
  while (true) {
    const i32 key = LOAD(i32, next, 0);
    if (key == 0) break;
    const usize home = idrSlot(key);
    /* Move `next` into the hole unless its home lies cyclically in (hole, next]. */
    const usize h = (hole - idr) / IDR_SLOT;
    const usize n = (next - idr) / IDR_SLOT;
    const usize m = (home - idr) / IDR_SLOT;
    const bool stays = h <= n ? (h < m && m <= n) : (h < m || m <= n);
    if (!stays) {
      STORE(i32, hole, key, 0);
      STORE(usize, hole, LOAD(usize, next, 4), 4);
      hole = next;
    }
    next = idrNext(next);
  }
  STORE(i32, hole, 0, 0);
  STORE(usize, hole, 0, 4);
}

/** idrAllocCyclic (spec §a.1): the smallest free id above the cursor, wrapping to 1 after idMax; never 0. */
static i32 idrAllocCyclic(usize fb) {
  const i32 count = ctxLoad(CTX_IDR_COUNT);
  if (count >= idMax) return -ENOSPC_;
  if (!idrReserve(count)) {
    backingCapacityExceeded = true;
    return -ENOSPC_;
  }
  i32 id = ctxLoad(CTX_IDR_CURSOR);
  do {
    id = id >= idMax ? 1 : id + 1;
  } while (idrFind(id) != 0);
  idrInsert(id, fb);
  ctxStore(CTX_IDR_CURSOR, id);
  ctxStore(CTX_IDR_COUNT, count + 1);
  setCounter(C_LIVE_IDS, count + 1);
  raisePeak(C_PEAK_IDS, count + 1);
  return id;
}

/** backingOpen: FUSE_DEV_IOC_BACKING_OPEN (spec §b.1): a new fuse_backing per call. The id or -errno. */
static i32 backingOpen(usize bref) {
  inc(C_BACKING_OPENS);
  connLock();
  const usize fb = fbAlloc(bref);
  if (fb == 0) {
    connUnlock();
    backingCapacityExceeded = true;
    return -ENOSPC_;
  }
  const i32 id = idrAllocCyclic(fb);
  if (id < 0) {
    inc(C_ENOSPC);
    backingPutLocked(fb);
  }
  connUnlock();
  return id;
}

/**
 * backingOpenRecorded: a registration the captured daemon made, which the kernel answered with id `recorded`. The
 * model's idr should hand out the same id; when it does not, the object is moved to the recorded id (if that is
 * free) so the rest of the replay follows the capture, and the caller counts the difference.
 */
static bool backingOpenRecorded(usize bref, i32 recorded) {
  const i32 id = backingOpen(bref);
  if (id == recorded) return true;
  connLock();
  if (id > 0 && recorded > 0 && idrFind(recorded) == 0) {
    const usize slot = idrFind(id);
    const usize fb = LOAD(usize, slot, 4);
    idrRemoveSlot(slot);
    idrInsert(recorded, fb);
    ctxStore(CTX_IDR_CURSOR, recorded);
  }
  connUnlock();
  return false;
}

/** backingClose: FUSE_DEV_IOC_BACKING_CLOSE (spec §b.2): open files and inode fbs are unaffected. */
static i32 backingClose(i32 id) {
  if (id <= 0) return -EINVAL_;
  connLock();
  const usize slot = idrFind(id);
  if (slot == 0) {
    connUnlock();
    return -ENOENT_;
  }
  const usize fb = LOAD(usize, slot, 4);
  idrRemoveSlot(slot);
  const i32 count = ctxLoad(CTX_IDR_COUNT) - 1;
  ctxStore(CTX_IDR_COUNT, count);
  setCounter(C_LIVE_IDS, count);
  inc(C_BACKING_CLOSES);
  backingPutLocked(fb);
  connUnlock();
  return 0;
}

/** backingCloseAll: FUSE_DEV_IOC_BACKING_CLOSE_ALL (spec §b.13): a fresh idr, the cursor back to the start. */
static void backingCloseAll(void) {
  connLock();
  const usize slots = (usize)idrMask + 1;
  for (usize i = 0; i < slots; i++) {
    const usize slot = idr + i * IDR_SLOT;
    if (LOAD(i32, slot, 0) != 0) {
      const usize fb = LOAD(usize, slot, 4);
      STORE(i32, slot, 0, 0);
      STORE(usize, slot, 0, 4);
      backingPutLocked(fb);
    }
  }
  ctxStore(CTX_IDR_CURSOR, 0);
  ctxStore(CTX_IDR_COUNT, 0);
  setCounter(C_LIVE_IDS, 0);
  connUnlock();
}

/** backingLookup (fuse_backing_lookup): a reference only if the object is not already dying; 0 if none. */
static usize backingLookup(i32 id) {
  connLock(); /* the kernel reads the idr under RCU; the model's table is not RCU-safe, so it takes the lock */
  const usize slot = idrFind(id);
  const usize fb = slot == 0 ? 0 : LOAD(usize, slot, 4);
  const bool got = fb != 0 && getUnlessZero(fb);
  connUnlock();
  return got ? fb : 0;
}

static i32 liveIds(void) { return ctxLoad(CTX_IDR_COUNT); }

static i32 liveBackings(void) { return ctxLoad(CTX_LIVE_BACKINGS); }

/* ==== assembly/iomode.ts: the io-mode state machine of fs/fuse/iomode.c (spec §b.3–§b.9, §b.13) ==== */

/* ---- fi->lock ---- */

/** The CAS of atomic.cmpxchg<i32>(fi + FI_LOCK, 0, 1): true when it took the lock. */
static inline bool lockCas(usize fi) {
  i32 expected = 0;
  return __atomic_compare_exchange_n((i32 *)(mem + fi + FI_LOCK), &expected, 1, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED);
}

static void __attribute__((noinline, cold)) spinLockSlow(usize fi) {
  do inc(C_LOCK_SPINS);
  while (!lockCas(fi));
}

static inline void spinLock(usize fi) {
  if (!lockCas(fi)) spinLockSlow(fi);
  inc(C_LOCK_ACQUISITIONS);
}

static inline void spinUnlock(usize fi) { __atomic_store_n((i32 *)(mem + fi + FI_LOCK), 0, FB_UNLOCK_ORDER); }

/* ---- helpers on objects ---- */

static inline usize fileInode(usize file) { return LOAD(usize, file, F_INODE); }

/** digestEqual: the 32-byte compare, as two 16-byte vectors (v128 in wasm). Digests are 32-byte aligned. */
static inline bool digestEqual(usize a, usize b) {
#if defined(__SSE2__)
  const __m128i a0 = _mm_load_si128((const __m128i *)(mem + a));
  const __m128i b0 = _mm_load_si128((const __m128i *)(mem + b));
  const __m128i a1 = _mm_load_si128((const __m128i *)(mem + a + 16));
  const __m128i b1 = _mm_load_si128((const __m128i *)(mem + b + 16));
  const __m128i diff = _mm_or_si128(_mm_xor_si128(a0, b0), _mm_xor_si128(a1, b1));
  return _mm_movemask_epi8(_mm_cmpeq_epi8(diff, _mm_setzero_si128())) == 0xffff;
#else
  return memcmp(mem + a, mem + b, DIGEST_SIZE) == 0;
#endif
}

static inline void setState(usize fi, i32 bit, bool on) {
  const i32 s = LOAD(i32, fi, FI_STATE);
  STORE(i32, fi, on ? s | bit : s & ~bit, FI_STATE);
}

static inline bool hasState(usize fi, i32 bit) { return (LOAD(i32, fi, FI_STATE) & bit) != 0; }

/** conflicts: the policy's conflict test between the inode's cached backing and the new one (spec §d). */
static inline bool conflicts(usize oldfb, usize fb) {
  if (policy == POLICY_INODE) {
    return fileInode(LOAD(usize, oldfb, FB_FILE)) != fileInode(LOAD(usize, fb, FB_FILE));
  }
  if (policy == POLICY_DIGEST) {
    return fileInode(LOAD(usize, oldfb, FB_FILE)) != fileInode(LOAD(usize, fb, FB_FILE))
        && !digestEqual(LOAD(usize, oldfb, FB_DIGEST), LOAD(usize, fb, FB_DIGEST));
  }
  return oldfb != fb; /* ptr, and reuse/lookup, which keep mainline's pointer test */
}

/** lockedConflictCheck: the locked test alone, as uncachedIoStart makes it: for the cost-per-check benchmark. */
static bool lockedConflictCheck(usize fi, usize fb) {
  spinLock(fi);
  const usize oldfb = LOAD(usize, fi, FI_FB);
  const bool busy = oldfb != 0 && conflicts(oldfb, fb);
  spinUnlock(fi);
  return busy;
}

/* uncachedIoStart (spec §b.4 step 5, fuse_inode_uncached_io_start). Invariant: fb != 0 implies iocachectr < 0. */
static i32 uncachedIoStart(usize fi, usize fb) {
  spinLock(fi);
  const usize oldfb = LOAD(usize, fi, FI_FB);
  i32 err = 0;
  if (oldfb != 0 && conflicts(oldfb, fb)) {
    err = -EBUSY_;
  } else if (LOAD(i32, fi, FI_IOCACHECTR) > 0) {
    err = -ETXTBSY_;
  } else {
    STORE(i32, fi, LOAD(i32, fi, FI_IOCACHECTR) - 1, FI_IOCACHECTR);
    if (oldfb == 0) STORE(usize, fi, fb, FI_FB); /* consumes the lookup reference */
    else backingPut(fb); /* a put inside the spinlock, as in the kernel */
  }
  spinUnlock(fi);
  return err;
}

/* uncachedIoEnd (spec §b.9): the epoch ends when iocachectr climbs back to 0; fb is dropped after unlocking. */
static void uncachedIoEnd(usize fi) {
  spinLock(fi);
  const i32 ctr = LOAD(i32, fi, FI_IOCACHECTR) + 1;
  STORE(i32, fi, ctr, FI_IOCACHECTR);
  usize oldfb = 0;
  if (ctr == 0) {
    oldfb = LOAD(usize, fi, FI_FB);
    STORE(usize, fi, 0, FI_FB);
  }
  spinUnlock(fi);
  if (oldfb != 0) backingPut(oldfb);
}

/* cachedIoOpen (spec §b.5, fuse_file_cached_io_open). */
static i32 cachedIoOpen(usize fi, usize ff) {
  spinLock(fi);
  if (LOAD(usize, fi, FI_FB) != 0) {
    setState(fi, FUSE_I_CACHE_IO_MODE, false);
    spinUnlock(fi);
    return -ETXTBSY_;
  }
  if (LOAD(i32, ff, FF_IOMODE) == IOM_NONE) {
    STORE(i32, ff, IOM_CACHED, FF_IOMODE);
    const i32 ctr = LOAD(i32, fi, FI_IOCACHECTR);
    if (ctr == 0) setState(fi, FUSE_I_CACHE_IO_MODE, true);
    STORE(i32, fi, ctr + 1, FI_IOCACHECTR);
  }
  spinUnlock(fi);
  return 0;
}

/* cachedIoRelease (spec §b.8 step 2, CACHED case). */
static void cachedIoRelease(usize fi, usize ff) {
  spinLock(fi);
  const i32 ctr = LOAD(i32, fi, FI_IOCACHECTR) - 1;
  STORE(i32, fi, ctr, FI_IOCACHECTR);
  if (ctr == 0) setState(fi, FUSE_I_CACHE_IO_MODE, false);
  STORE(i32, ff, IOM_NONE, FF_IOMODE);
  spinUnlock(fi);
}

/* lookupBackingAttach (spec §b.13): the inode takes a permanent reference and one uncached count. */
static void lookupBackingAttach(usize fi, usize fb) {
  spinLock(fi);
  STORE(i32, fi, LOAD(i32, fi, FI_IOCACHECTR) - 1, FI_IOCACHECTR);
  STORE(usize, fi, fb, FI_FB);
  setState(fi, FUSE_I_BACKING, true);
  spinUnlock(fi);
}

/* lookupBackingDetach (spec §b.13): the lookup reference is dropped at evict. */
static void lookupBackingDetach(usize fi) {
  setState(fi, FUSE_I_BACKING, false);
  uncachedIoEnd(fi);
}

/* accountAccept. Backing inodes are compared by their index in the host's table (one struct inode per index),
 * which the fuse_backing carries: the same answer as comparing file_inode(), read from lines the open touched. */
static void accountAccept(usize fi, usize ff, usize fb, usize intended) {
  inc(C_ACCEPTED);
  const u32 served = LOAD(u32, fb, FB_INODE_INDEX);
  if (served != LOAD(u32, LOAD(usize, fi, FI_FB), FB_INODE_INDEX)) {
    inc(C_DIVERGED);
    if (LOAD(i32, fi, FI_WRITERS) > 0 || LOAD(i32, ff, FF_MAY_WRITE) != 0) inc(C_UNSAFE);
  }
  /* Stale: another inode than the daemon's, holding other bytes now. */
  if (served != LOAD(u32, intended, BR_INODE_INDEX) && !digestEqual(currentContent(contents, served), LOAD(usize, intended, BR_DIGEST))) {
    inc(C_STALE);
  }
}

/* passthroughOpen (spec §b.4): open with FOPEN_PASSTHROUGH. `intended` is the bref the daemon meant. */
static i32 passthroughOpen(usize fi, usize ff, i32 backingId, u32 openFlags, usize intended) {
  const u32 mask = FOPEN_PASSTHROUGH_MASK | (policy == POLICY_REUSE ? FOPEN_PASSTHROUGH_INODE_CACHE : 0);
  if ((openFlags & ~mask) != 0) return -EINVAL_; /* step 1 */
  usize fb;
  const usize cachedFb = LOAD(usize, fi, FI_FB);
  if ((openFlags & FOPEN_PASSTHROUGH_INODE_CACHE) != 0 && cachedFb != 0) {
    fb = backingGet(cachedFb); /* P4a: the id is ignored entirely, unlocked read of fi->fb */
  } else if (policy == POLICY_LOOKUP && backingId == 0) {
    if (!hasState(fi, FUSE_I_BACKING) || cachedFb == 0) return -ENOENT_; /* P4b, Amir's variant */
    fb = backingGet(cachedFb);
  } else {
    if (backingId <= 0) return -EINVAL_; /* step 2 */
    fb = backingLookup(backingId);       /* step 3 */
    if (fb == 0) return -ENOENT_;
  }
  /* step 4: the per-file backing file is opened from fb's path; the model assumes the open succeeds. */
  const i32 err = uncachedIoStart(fi, fb); /* step 5 */
  if (err != 0) {
    backingPut(fb); /* step 6 */
    return err;
  }
  STORE(i32, ff, IOM_UNCACHED, FF_IOMODE); /* step 7 */
  STORE(usize, ff, LOAD(usize, fb, FB_FILE), FF_PASSTHROUGH);
  accountAccept(fi, ff, fb, intended);
  return 0;
}

static i32 countOpenError(i32 err) {
  if (err == -EBUSY_) inc(C_EBUSY);
  else if (err == -ETXTBSY_) inc(C_ETXTBSY);
  else if (err == -EINVAL_) inc(C_EINVAL);
  else if (err == -ENOENT_) inc(C_ENOENT);
  return err;
}

/* fileIoOpen (spec §b.3): open dispatch after the daemon's reply. 0 or the internal -errno. */
static i32 fileIoOpen(usize fi, usize ff, i32 backingId, u32 openFlags, usize intended) {
  if (LOAD(usize, fi, FI_FB) != 0 && (openFlags & FOPEN_PASSTHROUGH) == 0) { /* step 2 */
    inc(C_EIO_MODE);
    return -EIO_;
  }
  if ((openFlags & FOPEN_PASSTHROUGH) != 0) return countOpenError(passthroughOpen(fi, ff, backingId, openFlags, intended));
  if ((openFlags & FOPEN_DIRECT_IO) != 0) { /* step 4: iomode stays NONE */
    inc(C_DIRECT_OPENS);
    return 0;
  }
  const i32 err = countOpenError(cachedIoOpen(fi, ff)); /* step 6 */
  if (err == 0) inc(C_CACHED_OPENS);
  return err;
}

/* fileIoRelease (spec §b.8 step 2, fuse_file_io_release). */
static void fileIoRelease(usize fi, usize ff) {
  const i32 iomode = LOAD(i32, ff, FF_IOMODE);
  if (iomode == IOM_UNCACHED) {
    STORE(i32, ff, IOM_NONE, FF_IOMODE);
    uncachedIoEnd(fi);
  } else if (iomode == IOM_CACHED) {
    cachedIoRelease(fi, ff);
  }
}

/* ==== assembly/daemon.ts: which backing id each passthrough open carries, and when the daemon closes ids ==== */

/** daemonForgetInode: a new inode instance; the daemon has no state for it yet. */
static void daemonForgetInode(u32 nodeid) {
  const usize d = dinodeAt(nodeid);
  daemonLock(nodeid);
  STORE(i32, d, 0, DI_ID);
  STORE(i32, d, 0, DI_NOPEN);
  STORE(i32, d, ctxLoad(CTX_DAEMON_GEN), DI_GEN);
  daemonUnlock(nodeid);
}

/** daemonOpenBacking: the backing id the daemon puts in its open reply for `ff`; `recordedId` is the capture's. */
static i32 daemonOpenBacking(u32 nodeid, usize ff, u32 bref, usize brefPtr, i32 recordedId) {
  (void)bref; /* the AS signature keeps it; the daemon now keys by backing inode */
  if (policy == POLICY_LOOKUP) return 0;            /* "use the inode's backing" */
  if (daemon == DAEMON_RECORDED) return recordedId; /* the captured daemon's registrations are rows of their own */
  const i32 gen = ctxLoad(CTX_DAEMON_GEN);
  STORE(i32, ff, gen, FF_DAEMON_GEN);
  if (daemon == DAEMON_PER_OPEN) {
    i32 id = backingOpen(brefPtr);
    if (id < 0) id = 0;
    STORE(i32, ff, id, FF_DAEMON_ID);
    return id;
  }
  const usize d = dinodeAt(nodeid);
  daemonLock(nodeid);
  if (LOAD(i32, d, DI_GEN) != gen) { /* a restarted daemon starts with no ids */
    STORE(i32, d, gen, DI_GEN);
    STORE(i32, d, 0, DI_ID);
    STORE(i32, d, 0, DI_NOPEN);
  }
  i32 id = LOAD(i32, d, DI_ID);
  /* The file was replaced under the daemon (another backing inode; bytes rewritten in place are the same file, as
   * passthrough_hp keys its ids by inode): register the new one. */
  if (id != 0 && LOAD(u32, d, DI_INODE) != LOAD(u32, brefPtr, BR_INODE_INDEX)) {
    backingClose(id);
    id = 0;
    STORE(i32, d, 0, DI_ID);
  }
  if (id == 0) {
    const i32 newId = backingOpen(brefPtr);
    if (newId > 0) {
      id = newId;
      STORE(i32, d, id, DI_ID);
      STORE(u32, d, LOAD(u32, brefPtr, BR_INODE_INDEX), DI_INODE);
    }
  }
  STORE(i32, d, LOAD(i32, d, DI_NOPEN) + 1, DI_NOPEN);
  daemonUnlock(nodeid);
  STORE(i32, ff, id, FF_DAEMON_ID);
  return id;
}

/** daemonRelease: FUSE_RELEASE reaching the daemon. A restarted daemon ignores fhs it never handed out. */
static void daemonRelease(usize ff) {
  if (LOAD(i32, ff, FF_DAEMON_GEN) != ctxLoad(CTX_DAEMON_GEN)) return;
  if (daemon == DAEMON_PER_OPEN) {
    const i32 id = LOAD(i32, ff, FF_DAEMON_ID);
    if (id > 0) backingClose(id);
    return;
  }
  const u32 nodeid = LOAD(u32, ff, FF_NODEID);
  const usize d = dinodeAt(nodeid);
  daemonLock(nodeid);
  const i32 nopen = LOAD(i32, d, DI_NOPEN) - 1;
  STORE(i32, d, nopen, DI_NOPEN);
  const i32 id = LOAD(i32, d, DI_ID);
  if (nopen == 0 && id != 0) {
    backingClose(id);
    STORE(i32, d, 0, DI_ID);
  }
  daemonUnlock(nodeid);
}

/* ==== assembly/replay.ts: the event loop ==== */

static inline void anomaly(i32 kind) {
  inc(C_ANOMALIES);
  inc(kind);
}

static inline usize brefAt(u32 bref) { return brefs + (usize)bref * BR_SIZE; }

/** lookup: a new fuse inode instance. Under P4b the daemon attaches the backing now and closes its id at once. */
static void lookup(u32 nodeid, u32 bref, u32 fopen) {
  const usize fi = inodeAt(nodeid);
  STORE(i32, fi, 1, FI_ALIVE);
  daemonForgetInode(nodeid);
  if (policy != POLICY_LOOKUP || (fopen & FOPEN_PASSTHROUGH) == 0) return;
  const i32 id = backingOpen(brefAt(bref));
  if (id < 0) return;
  lookupBackingAttach(fi, backingLookup(id));
  backingClose(id);
}

/** evict: FORGET or umount; the inode instance ends and its state resets (spec §b.9: requires iocachectr 0). */
static void evict(u32 nodeid) {
  const usize fi = inodeAt(nodeid);
  if (hasState(fi, FUSE_I_BACKING)) lookupBackingDetach(fi);
  STORE(i32, fi, 0, FI_ALIVE);
}

static void onOpen(u32 nodeid, u32 fh, u32 bref, u32 oflags, u32 fopen, i32 recordedId) {
  if (nodeid >= maxInodes) { anomaly(C_A_NODEID_RANGE); return; }
  if (fh >= maxFiles) { anomaly(C_A_FH_RANGE); return; }
  if (bref >= nBrefs) { anomaly(C_A_BREF_RANGE); return; }
  const usize ff = fileAt(fh);
  if (LOAD(i32, ff, FF_STATE) != FILE_FREE) { anomaly(C_A_FH_IN_USE); return; }
  const usize fi = inodeAt(nodeid);
  if (LOAD(i32, fi, FI_ALIVE) == 0) lookup(nodeid, bref, fopen);
  inc(C_OPENS);
  const bool mayWrite = (oflags & O_ACCMODE_) != O_RDONLY_;
  STORE(u32, ff, nodeid, FF_NODEID);
  STORE(i32, ff, IOM_NONE, FF_IOMODE);
  STORE(i32, ff, mayWrite ? 1 : 0, FF_MAY_WRITE);
  STORE(usize, ff, 0, FF_PASSTHROUGH);
  STORE(i32, ff, 0, FF_DAEMON_ID);
  STORE(i32, ff, UNTRACKED, FF_DAEMON_GEN);
  const usize intended = brefAt(bref);
  noteContent(contents, intended);
  i32 backingId = 0;
  u32 openFlags = fopen;
  if ((fopen & FOPEN_PASSTHROUGH) != 0) {
    inc(C_PT_OPENS);
    if (policy == POLICY_REUSE) openFlags |= FOPEN_PASSTHROUGH_INODE_CACHE;
    backingId = daemonOpenBacking(nodeid, ff, bref, intended, recordedId);
  }
  const i32 err = fileIoOpen(fi, ff, backingId, openFlags, intended);
  if (err != 0) {
    inc(C_EIO);
    STORE(i32, ff, FILE_FAILED, FF_STATE);
    daemonRelease(ff); /* the synchronous release of a failed open (spec §b.3) */
    return;
  }
  STORE(i32, ff, FILE_OPEN, FF_STATE);
  addShared(fi + FI_NFILES, 1);
  if (mayWrite) addShared(fi + FI_WRITERS, 1);
}

static void onRelease(u32 fh) {
  if (fh >= maxFiles) { anomaly(C_A_FH_RANGE); return; }
  const usize ff = fileAt(fh);
  const i32 state = LOAD(i32, ff, FF_STATE);
  if (state == FILE_FREE) { anomaly(C_A_RELEASE_UNOPENED); return; }
  inc(C_RELEASES);
  if (state == FILE_OPEN) {
    const usize fi = inodeAt(LOAD(u32, ff, FF_NODEID));
    fileIoRelease(fi, ff); /* the kernel changes the inode's state before FUSE_RELEASE is queued */
    addShared(fi + FI_NFILES, -1);
    if (LOAD(i32, ff, FF_MAY_WRITE) != 0) addShared(fi + FI_WRITERS, -1);
    daemonRelease(ff);
  }
  STORE(i32, ff, FILE_FREE, FF_STATE);
}

static void onForget(u32 nodeid) {
  if (nodeid >= maxInodes) { anomaly(C_A_NODEID_RANGE); return; }
  const usize fi = inodeAt(nodeid);
  if (LOAD(i32, fi, FI_ALIVE) == 0) { anomaly(C_A_FORGET_UNKNOWN); return; }
  if (LOAD(i32, fi, FI_NFILES) > 0) { anomaly(C_A_FORGET_BUSY); return; } /* open files pin the inode */
  inc(C_FORGETS);
  evict(nodeid);
}

static void onLookup(u32 nodeid, u32 bref, u32 fopen) {
  if (nodeid >= maxInodes) { anomaly(C_A_NODEID_RANGE); return; }
  if (bref >= nBrefs) { anomaly(C_A_BREF_RANGE); return; }
  noteContent(contents, brefAt(bref));
  if (LOAD(i32, inodeAt(nodeid), FI_ALIVE) == 0) lookup(nodeid, bref, fopen);
}

/** onBackingOpen: a registration the captured daemon made (recorded daemon only: a modelled one makes its own). */
static void onBackingOpen(u32 bref, i32 recordedId) {
  if (daemon != DAEMON_RECORDED) return;
  if (bref >= nBrefs) { anomaly(C_A_BREF_RANGE); return; }
  /* Under lookup the kernel side registers at LOOKUP, which the captured daemon never did: ids drift by design. */
  if (!backingOpenRecorded(brefAt(bref), recordedId) && policy != POLICY_LOOKUP) anomaly(C_A_RECORDED_ID);
}

static void onBackingClose(i32 recordedId) {
  if (daemon != DAEMON_RECORDED) return;
  if (backingClose(recordedId) != 0) anomaly(C_A_RECORDED_ID);
}

static void onRestart(u32 oflags) {
  inc(C_RESTARTS);
  if ((oflags & RESTART_CLOSE_ALL) != 0) backingCloseAll();
  ctxStore(CTX_DAEMON_GEN, ctxLoad(CTX_DAEMON_GEN) + 1);
}

/*
 * Rows are replayed in groups. Before a group, the objects its opens will reach first (fuse inode, daemon record,
 * backing-file entry, then the backing inode's table entry) are loaded back to back: their cache misses overlap
 * instead of each open waiting for its own in turn. WebAssembly has no prefetch instruction; the C build issues
 * the same plain loads (not __builtin_prefetch), so both run the same loop.
 */
#define GROUP_ROWS 16u

/** touchSink: where the touched values go, so the loads are not optimized away (exported, as in the AS core). */
u32 touchSink = 0;

static inline void touchGroup(usize nodeid, usize bref, u32 begin, u32 end) {
  u32 sink = 0;
  for (u32 i = begin; i < end; i++) {
    const usize at = (usize)i << 2;
    const u32 nid = LOAD(u32, nodeid + at, 0);
    const u32 br = LOAD(u32, bref + at, 0);
    if (nid < maxInodes) sink += LOAD(u32, inodeAt(nid), FI_ALIVE) + LOAD(u32, dinodeAt(nid), 0);
    if (br < nBrefs) sink += LOAD(u32, brefAt(br), 0);
  }
  for (u32 i = begin; i < end; i++) {
    const usize at = (usize)i << 2;
    const u32 br = LOAD(u32, bref + at, 0);
    if (br < nBrefs) sink += touchBackingInode(contents, brefAt(br));
    const u32 nid = LOAD(u32, nodeid + at, 0);
    /* Without a branch: an inode with no fuse_backing loads from address 0 (+16), valid and always cached. */
    if (nid < maxInodes) sink += LOAD(u32, LOAD(usize, inodeAt(nid), FI_FB), FB_COUNT);
  }
  touchSink += sink;
}

/**
 * replayRows: replays rows [0, n) of the event columns. Returns n, or the number of rows replayed before the
 * fuse_backing slab overflowed (the host treats that as an error).
 */
static u32 replayRows(usize op, usize nodeid, usize fh, usize bref, usize oflags, usize fopen, usize bid, u32 n) {
  for (u32 begin = 0; begin < n; begin += GROUP_ROWS) {
    const u32 end = begin + GROUP_ROWS < n ? begin + GROUP_ROWS : n; /* min(begin + GROUP_ROWS, n) */
    touchGroup(nodeid, bref, begin, end);
    for (u32 i = begin; i < end; i++) {
      const usize at = (usize)i << 2;
      inc(C_EVENTS);
      switch ((i32)LOAD(uint8_t, op + (usize)i, 0)) {
        case OP_OPEN:
          onOpen(LOAD(u32, nodeid + at, 0), LOAD(u32, fh + at, 0), LOAD(u32, bref + at, 0), LOAD(u32, oflags + at, 0),
                 LOAD(u32, fopen + at, 0), LOAD(i32, bid + at, 0));
          if (backingCapacityExceeded) return i;
          break;
        case OP_RELEASE: onRelease(LOAD(u32, fh + at, 0)); break;
        case OP_FORGET: onForget(LOAD(u32, nodeid + at, 0)); break;
        case OP_LOOKUP:
          onLookup(LOAD(u32, nodeid + at, 0), LOAD(u32, bref + at, 0), LOAD(u32, fopen + at, 0));
          if (backingCapacityExceeded) return i;
          break;
        case OP_RESTART: onRestart(LOAD(u32, oflags + at, 0)); break;
        case OP_BACKING_OPEN:
          onBackingOpen(LOAD(u32, bref + at, 0), LOAD(i32, bid + at, 0));
          if (backingCapacityExceeded) return i;
          break;
        case OP_BACKING_CLOSE: onBackingClose(LOAD(i32, bid + at, 0)); break;
        default: anomaly(C_A_UNKNOWN_OP);
      }
    }
  }
  return n;
}

/* ==== assembly/checkbench.ts: the conflict check alone, for the cost-per-check benchmark ==== */
/* Set-up gives every fuse inode of the entered context a cached fuse_backing (iocachectr -1, fi->fb set) and a
 * candidate fuse_backing for the next open, cycling through the four cases the policies tell apart (spec §d): the
 * same object; a new registration of the same file; a re-download (another inode, the same bytes); another file.
 * The host adds file versions in pairs: bref 2k is file k, bref 2k+1 its re-downloaded copy. */

/** registered: a registered fuse_backing for file version `bref`, with the reference an open would hold; 0 if OOM. */
static usize registered(u32 bref) {
  const i32 id = backingOpen(brefs + (usize)bref * BR_SIZE);
  return id > 0 ? backingLookup(id) : 0;
}

/** checkSetup: prepares nodeids [0, n) of the entered context; returns the candidate table or 0. */
static usize checkSetup(u32 n) {
  const u32 nFiles = nBrefs >> 1;
  if (nFiles < 2) return 0;
  const usize candidates = heapAlloc((usize)n << 2);
  if (candidates == 0) return 0;
  for (u32 k = 0; k < n; k++) {
    const u32 file = k % nFiles;
    const usize cached = registered(file << 1);
    if (cached == 0) return 0;
    const usize fi = inodeAt(k);
    STORE(usize, fi, cached, FI_FB);
    STORE(i32, fi, -1, FI_IOCACHECTR);
    usize candidate;
    switch (k & 3) {
      case 0: candidate = backingGet(cached); break;
      case 1: candidate = registered(file << 1); break;
      case 2: candidate = registered((file << 1) | 1); break;
      default: candidate = registered(((file + 1) % nFiles) << 1);
    }
    if (candidate == 0) return 0;
    STORE(usize, candidates + ((usize)k << 2), candidate, 0);
  }
  return candidates;
}

/** checkBatch: `count` locked conflict checks, visiting nodeids in the order of the u32 array `order` (length a
 * power of two, `mask` = length - 1); returns how many would be EBUSY. */
static u32 checkBatch(usize candidates, usize order, u32 mask, u32 count) {
  u32 busy = 0;
  for (u32 i = 0; i < count; i++) {
    const u32 nodeid = LOAD(u32, order + ((usize)(i & mask) << 2), 0);
    if (lockedConflictCheck(inodeAt(nodeid), LOAD(usize, candidates + ((usize)nodeid << 2), 0))) busy++;
  }
  return busy;
}

/* ==== assembly/index.ts: the exported surface ==== */

/* ---- the backing-file table (shared by every context; it grows as a trace extends it) ---- */

bool backing_reserve(u32 nInodes, u32 nFiles) { return backingReserve(nInodes, nFiles); }

usize backing_sb_new(u32 dev) { return superBlockNew(dev); }

void backing_inode_define(u32 index, usize sb, f64 ino) { backingInodeDefine(index, sb, ino); }

usize backing_file_add(u32 index) { return backingFileAdd(index); }

/* ---- event columns ---- */

static usize columns = 0;
static u32 columnCapacity = 0;

/** events_create: seven columns of `capacity` rows: op (u8), then nodeid, fh, bref, oflags, fopen, bid (u32). */
usize events_create(u32 capacity) {
  columnCapacity = capacity;
  columns = heapAlloc((usize)capacity * 25 + 64 * 7);
  return columns;
}

usize events_column(u32 k) {
  const usize u8Bytes = ((usize)columnCapacity + 63) & ~(usize)63;
  const usize u32Bytes = ((usize)columnCapacity * 4 + 63) & ~(usize)63;
  return k == 0 ? columns : columns + u8Bytes + (usize)(k - 1) * u32Bytes;
}

/* ---- contexts ---- */

usize ctx_create(i32 policyCode, i32 daemonCode, u32 nInodes, u32 nFiles, i32 maxId) {
  return ctxCreate(policyCode, daemonCode, nInodes, nFiles, maxId);
}

usize ctx_counters(usize c) { return ctxCounters(c); }

/** replay: replays the first n rows of the event columns; returns n, or fewer when memory could not grow. */
u32 replay(usize c, u32 n) {
  ctxEnter(c);
  resetCapacityFlag();
  return replayRows(events_column(0), events_column(1), events_column(2), events_column(3), events_column(4),
                    events_column(5), events_column(6), n);
}

/* ---- workers of the threaded build: each instance has its own event columns and counters ---- */

/** counters_create: a zeroed block of COUNTER_SLOTS counters; 0 when memory is exhausted. */
usize counters_create(void) { return heapAlloc((usize)COUNTER_SLOTS << 3); }

/** replay_worker: replays rows [first, first + n) of the event columns, counting into `block` (counters_create). */
u32 replay_worker(usize c, usize block, u32 first, u32 n) {
  ctxEnter(c);
  ctxCountInto(block);
  resetCapacityFlag();
  const usize at = (usize)first << 2;
  return replayRows(events_column(0) + (usize)first, events_column(1) + at, events_column(2) + at,
                    events_column(3) + at, events_column(4) + at, events_column(5) + at, events_column(6) + at, n);
}

/** ctx_finish: counts files still open into C_OPEN_AT_END, and sets the live counts from the connection's own. */
void ctx_finish(usize c) {
  ctxEnter(c);
  i64 open = 0;
  for (u32 fh = 0; fh < maxFiles; fh++) if (LOAD(i32, fileAt(fh), FF_STATE) == FILE_OPEN) open++;
  setCounter(C_OPEN_AT_END, open);
  setCounter(C_LIVE_BACKINGS, liveBackings());
  setCounter(C_LIVE_IDS, liveIds());
}

/** ctx_unmount: ends every inode instance with no open files, as umount does. */
void ctx_unmount(usize c) {
  ctxEnter(c);
  for (u32 nodeid = 0; nodeid < maxInodes; nodeid++) {
    const usize fi = inodeAt(nodeid);
    if (LOAD(i32, fi, FI_ALIVE) != 0 && LOAD(i32, fi, FI_NFILES) == 0) evict(nodeid);
  }
}

i32 firstViolation = -1;

/** ctx_violations: invariants of spec §a.3 / §b.9, as in the reference model: the number of broken ones. */
u32 ctx_violations(usize c) {
  ctxEnter(c);
  firstViolation = -1;
  u32 broken = 0;
  i32 held = 0;
  for (u32 nodeid = 0; nodeid < maxInodes; nodeid++) {
    const usize fi = inodeAt(nodeid);
    const usize fb = LOAD(usize, fi, FI_FB);
    if (fb != 0) held++;
    if (LOAD(i32, fi, FI_NFILES) != 0) continue;
    const bool lookupHold = hasState(fi, FUSE_I_BACKING);
    bool bad = LOAD(i32, fi, FI_IOCACHECTR) != (lookupHold ? -1 : 0);
    bad = bad || ((fb != 0) != lookupHold);
    bad = bad || (fb != 0 && LOAD(i32, fb, FB_COUNT) < 1);
    bad = bad || hasState(fi, FUSE_I_CACHE_IO_MODE);
    bad = bad || LOAD(i32, fi, FI_WRITERS) != 0;
    if (bad) {
      if (firstViolation < 0) firstViolation = (i32)nodeid;
      broken++;
    }
  }
  bool open = false;
  for (u32 fh = 0; fh < maxFiles; fh++) if (LOAD(i32, fileAt(fh), FF_STATE) == FILE_OPEN) open = true;
  if (!open && liveBackings() != liveIds() + held) broken++;
  return broken;
}

/* ---- the cost-per-check benchmark ---- */

/** check_setup: gives nodeids [0, n) of `ctx` a cached and a candidate fuse_backing; the candidate table or 0. */
usize check_setup(usize c, u32 n) {
  ctxEnter(c);
  return checkSetup(n);
}

/** check_batch: `count` locked conflict checks under `ctx`'s policy; returns how many conflict. */
u32 check_batch(usize c, usize candidates, usize order, u32 mask, u32 count) {
  ctxEnter(c);
  return checkBatch(candidates, order, mask, count);
}

/** host_alloc: scratch memory for the host (the benchmark's visiting order); 0 when memory is exhausted. */
usize host_alloc(u32 bytes) { return heapAlloc(bytes); }

/** call_nop: does nothing (the wasm host times it for the cost of one JS→wasm call). */
void call_nop(void) {}
