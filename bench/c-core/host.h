/* What main.c (the replay of a dump) and check.c (the cost-per-check benchmark) share on the host's side. */
#ifndef FBREPLAY_HOST_H
#define FBREPLAY_HOST_H

#include <time.h>

#include "core.h"

#define MAX_POLICIES 5

static const char *const POLICY_NAMES[MAX_POLICIES] = {"ptr", "inode", "digest", "reuse", "lookup"};

static inline u64 nowNs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (u64)t.tv_sec * 1000000000u + (u64)t.tv_nsec;
}

/** fbreplay-native --check INODES FILES BATCH REPS (check.c); `args` are the four arguments. */
int checkCommand(char **args);

#endif
