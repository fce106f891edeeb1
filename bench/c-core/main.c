/*
 * fbreplay-native: replays a dump of events through the C build of the core (core.c) under each policy, as
 * WasmReplaySession (src/replay/wasm.ts) does with the wasm core, and prints the counters and times as JSON.
 *
 * Usage: fbreplay-native DUMP
 *        fbreplay-native --check INODES FILES BATCH REPS   (the cost-per-check benchmark: check.c)
 *
 * The dump (written by bench/c-core/index.mjs writeNativeDump; all integers little-endian):
 *
 *   offset  size  field
 *   0       8     magic "FBRNATV1"
 *   8       4     P, the number of policies (1 … 5)
 *   12      4     daemon model: 0 per-inode, 1 per-open, 2 recorded
 *   16      4     maxInodes (≥ 1): nodeids are 0 … maxInodes-1
 *   20      4     maxFiles (≥ 1): fhs are 0 … maxFiles-1
 *   24      4     idMax (1 … 0x7fffffff): the largest backing id the idr hands out
 *   28      4     chunkRows (≥ 1): the rows of the core's events area, i.e. the most rows per replay call
 *   32      8     N, event rows in all (u64)
 *   40      8     B, backing file versions in all (u64)
 *   48      4×P   policy codes, u32 each, distinct: 0 ptr, 1 inode, 2 digest, 3 reuse, 4 lookup
 *
 * then records, in order, each an 8-byte head (tag: 4 ASCII bytes; count: u32) and a body:
 *
 *   "BACK" count ≥ 1: file versions appended to the backing table (the first gets the next bref), 48 bytes each:
 *                     st_dev u32, 4 zero bytes, st_ino f64, sha256 digest 32 bytes.
 *   "EVNT" count 1 … chunkRows: event rows, column by column: op u8 × count, zero bytes up to a multiple of 4,
 *                     then nodeid, fh, bref, oflags, fopen as u32 × count each. Their recorded ids (bid) are 0.
 *   "EVNB" count 1 … chunkRows: the same, followed by the bid column (u32 × count): rows with recorded ids.
 *   "END!" count 0:   the last record; nothing follows it.
 *
 * As in WasmReplaySession: one context per policy; the backing table is interned as addBacking does (one
 * super_block per st_dev, one backing inode index per (st_dev, st_ino), the core's tables grown by doubling); each
 * EVNT or EVNB record is copied into the events area once and replayed under every policy in turn, the time of
 * each replay call measured with clock_gettime(CLOCK_MONOTONIC) around it. At the end ctx_finish runs for every
 * policy.
 *
 * Output, one line on stdout:
 *   {"events": N, "memory_bytes": M, "policies": {"ptr": {"counters": [COUNTER_SLOTS numbers], "ns": T,
 *    "violations": V}, ...}}
 * (counters in abi.ts C_* order; T the total ns of the policy's replay calls; V what ctx_violations counts.)
 *
 * Exit status: 0; 2 for a dump that cannot be read or is malformed or truncated (one line on stderr naming the
 * file); 3 when the core runs out of its 4 GiB (one line on stderr).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "host.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the dump is little-endian and is read straight into memory: a little-endian host is needed"
#endif

#define MAGIC "FBRNATV1"
#define HEADER_BYTES 48
#define BACKING_RECORD_BYTES 48
#define TAG(a, b, c, d) ((u32)(a) | (u32)(b) << 8 | (u32)(c) << 16 | (u32)(d) << 24)
#define TAG_BACK TAG('B', 'A', 'C', 'K')
#define TAG_EVNT TAG('E', 'V', 'N', 'T')
#define TAG_EVNB TAG('E', 'V', 'N', 'B')
#define TAG_END TAG('E', 'N', 'D', '!')


static const char *dumpPath;
static FILE *in;
static u64 offset;   /* bytes consumed so far */
static u64 fileSize; /* the dump's size, so a record's count is checked against the bytes left before use */

static void __attribute__((noreturn, format(printf, 2, 3))) fail(int status, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", dumpPath);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(status);
}

/** Reads exactly `bytes` or fails naming what was being read. */
static void readExactly(void *into, size_t bytes, const char *what) {
  size_t got = fread(into, 1, bytes, in);
  if (got != bytes) {
    if (ferror(in)) fail(2, "read error at byte %llu (%s): %s", (unsigned long long)(offset + got), what, strerror(errno));
    fail(2, "truncated at byte %llu: %s needs %zu bytes, %zu left", (unsigned long long)(offset + got), what, bytes, got);
  }
  offset += bytes;
}

static u32 u32At(const uint8_t *p) { u32 v; memcpy(&v, p, 4); return v; }
static u64 u64At(const uint8_t *p) { u64 v; memcpy(&v, p, 8); return v; }

/* ---- the host's interning of the backing table (src/replay/wasm.ts addBacking) ---- */

/** An open-addressing map from a 64-bit key pair to a u32, growing at half full (the host's Map). */
typedef struct {
  u64 *keyA, *keyB;
  u32 *value;
  uint8_t *used;
  size_t mask, count;
} Map;

static void mapInit(Map *m, size_t slots) {
  m->keyA = calloc(slots, sizeof *m->keyA);
  m->keyB = calloc(slots, sizeof *m->keyB);
  m->value = calloc(slots, sizeof *m->value);
  m->used = calloc(slots, 1);
  if (!m->keyA || !m->keyB || !m->value || !m->used) fail(3, "out of memory (backing table index)");
  m->mask = slots - 1;
  m->count = 0;
}

static size_t mapHash(u64 a, u64 b) {
  u64 h = a * 0x9e3779b97f4a7c15ull ^ b;
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ull;
  return (size_t)(h ^ (h >> 29));
}

/** The slot of (a, b): where it is, or the free slot where it goes. */
static size_t mapSlot(const Map *m, u64 a, u64 b) {
  size_t i = mapHash(a, b) & m->mask;
  while (m->used[i] && (m->keyA[i] != a || m->keyB[i] != b)) i = (i + 1) & m->mask;
  return i;
}

static void mapPut(Map *m, u64 a, u64 b, u32 value);

static void mapGrow(Map *m) {
  Map old = *m;
  mapInit(m, (old.mask + 1) * 2);
  for (size_t i = 0; i <= old.mask; i++) if (old.used[i]) mapPut(m, old.keyA[i], old.keyB[i], old.value[i]);
  free(old.keyA);
  free(old.keyB);
  free(old.value);
  free(old.used);
}

static void mapPut(Map *m, u64 a, u64 b, u32 value) {
  if ((m->count + 1) * 2 > m->mask + 1) mapGrow(m);
  size_t i = mapSlot(m, a, b);
  if (!m->used[i]) m->count++;
  m->used[i] = 1;
  m->keyA[i] = a;
  m->keyB[i] = b;
  m->value[i] = value;
}

/** The value of (a, b), or -1. */
static i64 mapGet(const Map *m, u64 a, u64 b) {
  size_t i = mapSlot(m, a, b);
  return m->used[i] ? (i64)m->value[i] : -1;
}

static Map superBlocks; /* st_dev → super_block pointer */
static Map inodeIndex;  /* (st_dev, st_ino) → backing inode index */
static u64 inodeCount, inodeCapacity, brefCount, brefCapacity;

/** grow in reserve: Math.max(need, have * 2, 1024) when `need` does not fit. */
static u64 grow(u64 need, u64 have) {
  if (need <= have) return have;
  u64 n = need > have * 2 ? need : have * 2;
  return n > 1024 ? n : 1024;
}

/** reserve: room in the core's tables, grown by doubling (src/replay/wasm.ts reserve). */
static void reserve(u64 nInodes, u64 nFiles) {
  if (nInodes <= inodeCapacity && nFiles <= brefCapacity) return;
  inodeCapacity = grow(nInodes, inodeCapacity);
  brefCapacity = grow(nFiles, brefCapacity);
  if (inodeCapacity > UINT32_MAX || brefCapacity > UINT32_MAX || !backing_reserve((u32)inodeCapacity, (u32)brefCapacity)) {
    fail(3, "out of memory (a backing table of %llu files)", (unsigned long long)brefCapacity);
  }
}

/** The ino's key: its f64 bits, -0 as 0 (a JavaScript Map's SameValueZero). */
static u64 inoKey(f64 ino) {
  u64 bits;
  if (ino == 0) ino = 0;
  memcpy(&bits, &ino, 8);
  return bits;
}

/** addBacking for one BACK record of `count` versions. */
static void addBacking(u32 count) {
  static uint8_t buffer[4096 * BACKING_RECORD_BYTES];
  uint8_t *mem = core_memory();
  reserve(inodeCount + count, brefCount + count);
  for (u32 done = 0; done < count;) {
    u32 n = count - done < 4096 ? count - done : 4096;
    readExactly(buffer, (size_t)n * BACKING_RECORD_BYTES, "backing file versions");
    for (u32 i = 0; i < n; i++) {
      const uint8_t *f = buffer + (size_t)i * BACKING_RECORD_BYTES;
      const u32 dev = u32At(f);
      f64 ino;
      memcpy(&ino, f + 8, 8);
      i64 sb = mapGet(&superBlocks, dev, 0);
      if (sb < 0) {
        sb = backing_sb_new(dev);
        if (sb == 0) fail(3, "out of memory (super_block of device %u)", dev);
        mapPut(&superBlocks, dev, 0, (u32)sb);
      }
      i64 index = mapGet(&inodeIndex, dev, inoKey(ino));
      if (index < 0) {
        index = (i64)inodeCount++;
        mapPut(&inodeIndex, dev, inoKey(ino), (u32)index);
        backing_inode_define((u32)index, (usize)sb, ino);
      }
      const usize digest = backing_file_add((u32)index);
      if (digest == 0) fail(3, "out of memory (backing file %llu)", (unsigned long long)brefCount);
      memcpy(mem + digest, f + 16, 32);
      brefCount++;
    }
    done += n;
  }
}

int main(int argc, char **argv) {
  if (argc == 6 && strcmp(argv[1], "--check") == 0) {
    return checkCommand(argv + 2);
  }
  /* --only POLICY replays one of the dump's policies alone, as the wasm and JS engines are timed in the benchmark:
   * several contexts replaying the same chunks share the caches, and each one costs more. */
  const char *only = NULL;
  if (argc == 4 && strcmp(argv[2], "--only") == 0) only = argv[3];
  else if (argc != 2) {
    fprintf(stderr, "usage: %s DUMP [--only POLICY]\n       %s --check INODES FILES BATCH REPS\n", argv[0], argv[0]);
    return 2;
  }
  dumpPath = argv[1];
  in = fopen(dumpPath, "rb");
  if (in == NULL) fail(2, "cannot open: %s", strerror(errno));
  struct stat st;
  if (fstat(fileno(in), &st) != 0) fail(2, "cannot stat: %s", strerror(errno));
  fileSize = (u64)st.st_size;
  static char inBuffer[1 << 20];
  setvbuf(in, inBuffer, _IOFBF, sizeof inBuffer);

  uint8_t head[HEADER_BYTES];
  readExactly(head, sizeof head, "the header");
  if (memcmp(head, MAGIC, 8) != 0) fail(2, "not a native replay dump (bad magic)");
  const u32 nPolicies = u32At(head + 8), daemonCode = u32At(head + 12), maxInodes = u32At(head + 16),
            maxFiles = u32At(head + 20), idMax = u32At(head + 24), chunkRows = u32At(head + 28);
  const u64 nEvents = u64At(head + 32), nBacking = u64At(head + 40);
  if (nPolicies < 1 || nPolicies > MAX_POLICIES) fail(2, "header: %u policies (1 … %d)", nPolicies, MAX_POLICIES);
  if (daemonCode > DAEMON_STABLE_ID_KEEP) fail(2, "header: unknown daemon model %u", daemonCode);
  if (maxInodes < 1 || maxFiles < 1) fail(2, "header: maxInodes %u and maxFiles %u must be ≥ 1", maxInodes, maxFiles);
  if (idMax < 1 || idMax > ID_MAX_DEFAULT) fail(2, "header: idMax %u out of 1 … %d", idMax, ID_MAX_DEFAULT);
  if (chunkRows < 1 || chunkRows > (1u << 26)) fail(2, "header: chunkRows %u out of 1 … %u", chunkRows, 1u << 26);
  uint8_t codes[4 * MAX_POLICIES];
  readExactly(codes, 4 * (size_t)nPolicies, "the policy codes");
  i32 policies[MAX_POLICIES];
  for (u32 i = 0; i < nPolicies; i++) {
    const u32 code = u32At(codes + 4 * i);
    if (code >= MAX_POLICIES) fail(2, "header: unknown policy code %u", code);
    for (u32 j = 0; j < i; j++) if (policies[j] == (i32)code) fail(2, "header: policy %s twice", POLICY_NAMES[code]);
    policies[i] = (i32)code;
  }
  u32 nReplayed = nPolicies;
  if (only != NULL) {
    u32 k = 0;
    while (k < nPolicies && strcmp(POLICY_NAMES[policies[k]], only) != 0) k++;
    if (k == nPolicies) fail(2, "--only %s: the dump has no such policy", only);
    policies[0] = policies[k];
    nReplayed = 1;
  }

  if (!core_init()) fail(3, "cannot reserve 4 GiB of address space for the core's memory: %s", strerror(errno));
  mapInit(&superBlocks, 64);
  mapInit(&inodeIndex, 1024);

  /* The host's constructor: contexts, then the events area. */
  usize contexts[MAX_POLICIES];
  u64 elapsed[MAX_POLICIES] = {0};
  for (u32 i = 0; i < nReplayed; i++) {
    contexts[i] = ctx_create(policies[i], (i32)daemonCode, maxInodes, maxFiles, (i32)idMax);
    if (contexts[i] == 0) {
      fail(3, "out of memory (the %s context for %u inodes and %u files)", POLICY_NAMES[policies[i]], maxInodes, maxFiles);
    }
  }
  if (events_create(chunkRows) == 0) fail(3, "out of memory (%u event rows)", chunkRows);
  uint8_t *mem = core_memory();

  u64 events = 0, backing = 0;
  u32 bidRows = 0; /* rows of the bid column that may hold recorded ids (fresh memory is zero) */
  for (;;) {
    uint8_t record[8];
    const u64 at = offset;
    readExactly(record, sizeof record, "a record head");
    const u32 tag = u32At(record), count = u32At(record + 4);
    const u64 left = fileSize - offset;
    const u64 body = tag == TAG_BACK ? (u64)count * BACKING_RECORD_BYTES
                   : tag == TAG_EVNT ? (u64)count * 21 + (4 - count % 4) % 4
                   : tag == TAG_EVNB ? (u64)count * 25 + (4 - count % 4) % 4
                   : 0;
    if (body > left) {
      fail(2, "truncated: the record at byte %llu needs %llu bytes, %llu left", (unsigned long long)at,
           (unsigned long long)body, (unsigned long long)left);
    }
    if (tag == TAG_END) {
      if (count != 0) fail(2, "END record at byte %llu with count %u", (unsigned long long)at, count);
      break;
    }
    if (tag == TAG_BACK) {
      if (count == 0) fail(2, "BACK record at byte %llu with no files", (unsigned long long)at);
      addBacking(count);
      backing += count;
    } else if (tag == TAG_EVNT || tag == TAG_EVNB) {
      if (count == 0 || count > chunkRows) {
        fail(2, "EVNT record at byte %llu with %u rows (1 … chunkRows %u)", (unsigned long long)at, count, chunkRows);
      }
      readExactly(mem + events_column(0), count, "the op column");
      uint8_t pad[4];
      readExactly(pad, (4 - count % 4) % 4, "the op column's padding");
      static const char *const names[7] = {"op", "the nodeid column", "the fh column", "the bref column",
                                           "the oflags column", "the fopen column", "the bid column"};
      for (u32 k = 1; k <= 5; k++) readExactly(mem + events_column(k), (size_t)count * 4, names[k]);
      if (tag == TAG_EVNB) {
        readExactly(mem + events_column(6), (size_t)count * 4, names[6]);
        if (count > bidRows) bidRows = count;
      } else if (bidRows > 0) {
        memset(mem + events_column(6), 0, (size_t)bidRows * 4); /* every row a recorded id was left in */
        bidRows = 0;
      }
      for (u32 i = 0; i < nReplayed; i++) {
        const u64 begin = nowNs();
        const u32 done = replay(contexts[i], count);
        elapsed[i] += nowNs() - begin;
        if (done != count) fail(3, "out of memory (fuse_backing objects and ids) under %s", POLICY_NAMES[policies[i]]);
      }
      events += count;
    } else {
      fail(2, "unknown record tag 0x%08x at byte %llu", tag, (unsigned long long)at);
    }
  }
  if (fgetc(in) != EOF) fail(2, "bytes after the END record (byte %llu)", (unsigned long long)offset);
  if (events != nEvents) {
    fail(2, "the header says %llu events, the records hold %llu", (unsigned long long)nEvents, (unsigned long long)events);
  }
  if (backing != nBacking) {
    fail(2, "the header says %llu backing files, the records hold %llu", (unsigned long long)nBacking,
         (unsigned long long)backing);
  }
  fclose(in);

  printf("{\"events\": %llu, \"memory_bytes\": %llu, \"policies\": {", (unsigned long long)events,
         (unsigned long long)core_memory_bytes());
  for (u32 i = 0; i < nReplayed; i++) {
    ctx_finish(contexts[i]);
    const u32 violations = ctx_violations(contexts[i]);
    const i64 *counters = (const i64 *)(mem + ctx_counters(contexts[i]));
    printf("%s\"%s\": {\"counters\": [", i ? ", " : "", POLICY_NAMES[policies[i]]);
    for (u32 c = 0; c < COUNTER_SLOTS; c++) printf("%s%lld", c ? ", " : "", (long long)counters[c]);
    printf("], \"ns\": %llu, \"violations\": %u}", (unsigned long long)elapsed[i], violations);
  }
  printf("}}\n");
  return fflush(stdout) == 0 ? 0 : 2;
}
