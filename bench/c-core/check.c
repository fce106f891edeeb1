/*
 * fbreplay-native --check INODES FILES BATCH REPS: the cost-per-check benchmark of bench/suites/check.mjs on the C
 * core (main.c's usage; the replay of a dump is main.c's).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "host.h"

/** A u32 command-line argument ≥ min, or exit 2. */
static u32 argU32(const char *text, const char *name, u32 min) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(text, &end, 10);
  if (errno != 0 || *end != 0 || end == text || text[0] == '-' || v < min || v > UINT32_MAX) {
    fprintf(stderr, "fbreplay-native --check: %s must be an integer ≥ %u, got \"%s\"\n", name, min, text);
    exit(2);
  }
  return (u32)v;
}

/**
 * The cost-per-check benchmark of bench/suites/check.mjs on the C core: the same set-up (a backing table of FILES
 * files, each followed by a re-downloaded copy with the same bytes; INODES fuse inodes per policy, each with a
 * cached and a candidate fuse_backing; a fixed random visiting order), then REPS timed calls of check_batch of
 * BATCH checks per policy. Prints {"policies": {"ptr": {"conflicts": C, "ns_per_check": [REPS numbers]}, ...}}.
 */
static int checkMain(u32 nInodes, u32 nFiles, u32 batch, u32 reps) {
  if ((nInodes & (nInodes - 1)) != 0) {
    fprintf(stderr, "fbreplay-native --check: INODES must be a power of two, got %u\n", nInodes);
    return 2;
  }
  if (!core_init()) {
    fprintf(stderr, "fbreplay-native: cannot reserve 4 GiB of address space: %s\n", strerror(errno));
    return 3;
  }
  uint8_t *mem = core_memory();
  /* instantiate(files) */
  if (!backing_reserve(nFiles * 2, nFiles * 2)) return fprintf(stderr, "fbreplay-native --check: out of memory\n"), 3;
  const usize sb = backing_sb_new(1);
  for (u32 f = 0; f < nFiles * 2; f++) {
    backing_inode_define(f, sb, 1000 + f);
    const usize digest = backing_file_add(f);
    if (digest == 0) return fprintf(stderr, "fbreplay-native --check: out of memory\n"), 3;
    const u32 original = f >> 1; /* a copy shares its original's bytes */
    memcpy(mem + digest, &original, 4);
  }
  /* visitingOrder(n): a fixed xorshift shuffle, bit for bit the host's */
  const usize order = host_alloc(nInodes * 4);
  if (order == 0) return fprintf(stderr, "fbreplay-native --check: out of memory\n"), 3;
  u32 *o = (u32 *)(mem + order);
  for (u32 i = 0; i < nInodes; i++) o[i] = i;
  u32 x = 0x9e3779b9u;
  for (u32 i = nInodes - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    const u32 j = x % (i + 1);
    const u32 t = o[i];
    o[i] = o[j];
    o[j] = t;
  }
  printf("{\"policies\": {");
  for (i32 policy = 0; policy < MAX_POLICIES; policy++) {
    const usize c = ctx_create(policy, DAEMON_PER_INODE, nInodes, 1, ID_MAX_DEFAULT);
    const usize candidates = c == 0 ? 0 : check_setup(c, nInodes);
    if (candidates == 0) return fprintf(stderr, "fbreplay-native --check: out of memory setting up %s\n", POLICY_NAMES[policy]), 3;
    const u32 expected = check_batch(c, candidates, order, nInodes - 1, batch); /* also the warm-up */
    printf("%s\"%s\": {\"conflicts\": %u, \"ns_per_check\": [", policy ? ", " : "", POLICY_NAMES[policy], expected);
    for (u32 r = 0; r < reps; r++) {
      const u64 begin = nowNs();
      const u32 busy = check_batch(c, candidates, order, nInodes - 1, batch);
      const u64 ns = nowNs() - begin;
      if (busy != expected) return fprintf(stderr, "fbreplay-native --check: %s gave another answer\n", POLICY_NAMES[policy]), 3;
      printf("%s%.4f", r ? ", " : "", (double)ns / batch);
    }
    printf("]}");
  }
  printf("}}\n");
  return fflush(stdout) == 0 ? 0 : 2;
}

int checkCommand(char **args) {
  return checkMain(argU32(args[0], "INODES", 1), argU32(args[1], "FILES", 2), argU32(args[2], "BATCH", 1),
                   argU32(args[3], "REPS", 1));
}
