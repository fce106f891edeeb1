// Dependent-load latency as the working set grows: a random cyclic permutation of 64-byte lines, followed for 20M
// steps per size. The bound of a replay whose working set is beyond the cache (bench/README.md, "The file path and
// `lookup`"). Build and run: cc -O2 -o /tmp/chase bench/probes/pointer-chase.c && /tmp/chase
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
  size_t sizes[] = {1 << 20, 4 << 20, 8 << 20, 16 << 20, 32 << 20, 64 << 20, 128 << 20};
  for (int s = 0; s < 7; s++) {
    size_t lines = sizes[s] / 64;
    uint64_t *mem = aligned_alloc(64, sizes[s]);
    size_t *perm = malloc(lines * sizeof *perm);
    for (size_t i = 0; i < lines; i++) perm[i] = i;
    srand(1);
    for (size_t i = lines - 1; i > 0; i--) { size_t j = ((size_t)rand() * RAND_MAX + rand()) % (i + 1); size_t t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
    for (size_t i = 0; i < lines; i++) mem[perm[i] * 8] = perm[(i + 1) % lines] * 8;
    size_t p = 0, steps = 20000000;
    for (size_t i = 0; i < lines; i++) p = mem[p];
    double t0 = now();
    for (size_t i = 0; i < steps; i++) p = mem[p];
    double t = now() - t0;
    printf("%4zu MiB: %6.1f ns per dependent load (%zu)\n", sizes[s] >> 20, t * 1e9 / steps, p & 1);
    free(mem); free(perm);
  }
  return 0;
}
