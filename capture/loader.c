// SPDX-License-Identifier: GPL-2.0
/* fbcapture-loader DEV OUT [RING_BYTES]: loads fbcapture.bpf.c for the FUSE connection whose fc->dev is DEV (kernel
 * encoding), attaches it, writes a READY record, then appends every record of the ring buffer to the file OUT
 * unchanged (struct fbc_record, binary) until SIGINT/SIGTERM or stdin's EOF, drains the ring buffer and ends with a
 * DONE record carrying the number of records the ring buffer had no room for. READY, DONE and the BACKING_OPEN
 * records also go to stdout as they come (the caller reads the daemon's backing files while it still holds them):
 * the bulk never waits for the caller, so a busy caller cannot make the ring buffer overflow. RING_BYTES: the ring buffer's size (a power of 2,
 * at least a page; default 16 MiB). Errors: one line on stderr, exit 2. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "record.h"
#include "fbcapture.skel.h"

/* How often the ring buffer is drained: 16 MiB hold ~100k records, 10M records/s between two drains. */
#define DRAIN_MS 10

static volatile sig_atomic_t stopping;
static FILE *out;     /* every record */
/* READY, DONE, BACKING_OPEN records for the caller, on stdout. BACKING_OPEN copies are written without blocking:
 * when the caller lags they are dropped (it then has no digest of those files), never the ring buffer's records. */
static int control = 1;

static void to_control(const void *data, size_t size, int may_drop)
{
	int flags = fcntl(control, F_GETFL);
	fcntl(control, F_SETFL, may_drop ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
	for (size_t done = 0; done < size;) {
		ssize_t n = write(control, (const char *)data + done, size - done);
		if (n > 0) {
			done += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && done > 0) { /* never half a record */
			fcntl(control, F_SETFL, flags & ~O_NONBLOCK);
			may_drop = 0;
			continue;
		}
		return;
	}
}

static void on_signal(int sig) { (void)sig; stopping = 1; }

static int fail(const char *what, int err)
{
	fprintf(stderr, "fbcapture: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 2;
}

static int on_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (size != sizeof(struct fbc_record) || fwrite(data, size, 1, out) != 1)
		return -EIO;
	if (((const struct fbc_record *)data)->kind == FBC_BACKING_OPEN)
		to_control(data, size, 1);
	return 0;
}

static void emit(__u32 kind, __u64 lost)
{
	struct fbc_record r;
	struct timespec ts;
	memset(&r, 0, sizeof(r));
	clock_gettime(CLOCK_MONOTONIC, &ts); /* bpf_ktime_get_ns's clock */
	r.t_ns = (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	if (kind == FBC_READY || kind == FBC_DONE) {
		/* The wall clock at t_ns (read between two monotonic reads, taken at their middle): a workload's strace
		 * stamps its calls with it (capture --workload-strace). */
		struct timespec real, after;
		clock_gettime(CLOCK_REALTIME, &real);
		clock_gettime(CLOCK_MONOTONIC, &after);
		r.t_ns = (r.t_ns + (__u64)after.tv_sec * 1000000000ull + after.tv_nsec) / 2;
		r.generation = (__u64)real.tv_sec * 1000000000ull + real.tv_nsec;
	}
	r.kind = kind;
	r.lost = lost;
	fwrite(&r, sizeof(r), 1, out);
	fflush(out);
	to_control(&r, sizeof(r), 0);
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	/* libbpf's own lines (the verifier log) go to stderr only when asked for. */
	if (getenv("FBCAPTURE_VERBOSE") || (level == LIBBPF_WARN && getenv("FBCAPTURE_WARN")))
		return vfprintf(stderr, fmt, args);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: fbcapture-loader DEV OUT [RING_BYTES]\n");
		return 2;
	}
	unsigned long ring = 1ul << 24;
	if (argc == 4) {
		char *rend;
		ring = strtoul(argv[3], &rend, 0);
		if (*rend != '\0' || ring < 4096 || (ring & (ring - 1)) != 0) {
			fprintf(stderr, "fbcapture: the ring buffer size must be a power of 2 of at least 4096 bytes: %s\n", argv[3]);
			return 2;
		}
	}
	char *end;
	unsigned long dev = strtoul(argv[1], &end, 0);
	if (*end != '\0') {
		fprintf(stderr, "fbcapture: not a device number: %s\n", argv[1]);
		return 2;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		fprintf(stderr, "fbcapture: this kernel has no BTF (/sys/kernel/btf/vmlinux): CONFIG_DEBUG_INFO_BTF is needed\n");
		return 2;
	}
	libbpf_set_print(libbpf_quiet);
	out = fopen(argv[2], "w");
	if (!out)
		return fail(argv[2], errno);
	static char buf[1 << 20];
	setvbuf(out, buf, _IOFBF, sizeof(buf));

	struct fbcapture_bpf *skel = fbcapture_bpf__open();
	if (!skel)
		return fail("cannot open the BPF object", errno);
	skel->rodata->target_dev = (__u32)dev;
	bpf_map__set_max_entries(skel->maps.records, ring);
	int err = fbcapture_bpf__load(skel);
	if (err) {
		fbcapture_bpf__destroy(skel);
		return fail("the kernel refused the BPF programs (root and tp_btf are needed)", err);
	}
	err = fbcapture_bpf__attach(skel);
	if (err) {
		fbcapture_bpf__destroy(skel);
		return fail("cannot attach to the tracepoints fuse_request_send/end, sys_enter/exit", err);
	}
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.records), on_record, NULL, NULL);
	if (!rb) {
		fbcapture_bpf__destroy(skel);
		return fail("cannot map the ring buffer", errno);
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	emit(FBC_READY, 0);

	/* The programs never wake us (BPF_RB_NO_WAKEUP): drain every DRAIN_MS, and stop at stdin's EOF. */
	struct pollfd in = { .fd = 0, .events = POLLIN };
	int status = 0;
	while (!stopping) {
		int ready = poll(&in, 1, DRAIN_MS);
		err = ring_buffer__consume(rb);
		if (err < 0 && err != -EINTR) {
			status = fail("reading the ring buffer", err);
			break;
		}
		fflush(out);
		if (ferror(out)) {
			status = fail(argv[2], errno);
			break;
		}
		if (ready > 0 && (in.revents & (POLLIN | POLLHUP))) {
			char c;
			if (read(0, &c, 1) <= 0)
				break;
		}
	}
	/* Detach first, so nothing is added while the rest is drained. */
	fbcapture_bpf__detach(skel);
	ring_buffer__consume(rb);
	__u64 lost = 0;
	int ncpu = libbpf_num_possible_cpus();
	__u64 *per_cpu = calloc(ncpu > 0 ? ncpu : 1, sizeof(__u64));
	__u32 zero = 0;
	if (per_cpu && bpf_map_lookup_elem(bpf_map__fd(skel->maps.lost), &zero, per_cpu) == 0)
		for (int i = 0; i < ncpu; i++)
			lost += per_cpu[i];
	free(per_cpu);
	emit(FBC_DONE, lost);
	if (fclose(out) != 0)
		status = fail(argv[2], errno);
	ring_buffer__free(rb);
	fbcapture_bpf__destroy(skel);
	return status;
}
