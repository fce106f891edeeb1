// SPDX-License-Identifier: GPL-2.0
/* The kernel's side of one FUSE connection, as records in a ring buffer (record.h):
 * - tp_btf/fuse_request_send and fuse_request_end: every request of the connection whose fc->dev is `target_dev`
 *   and its reply, with the arguments a conflict replay needs (open flags, the reply's fh, FOPEN_* and backing id,
 *   RELEASE's fh, LOOKUP/CREATE entries, names). FORGET and BATCH_FORGET never pass here: the kernel queues them on
 *   a list of their own, outside struct fuse_req (fs/fuse/dev.c, fuse_queue_forget).
 * - tp_btf/sys_enter and sys_exit: the daemon's FUSE_DEV_IOC_BACKING_OPEN / _CLOSE ioctls on a /dev/fuse fd of
 *   that connection (the id the kernel returned; the backing file's s_dev and i_ino read from its struct file),
 *   and the return value of the syscall in which a thread sent OPEN or CREATE: the kernel's verdict on the open
 *   (a passthrough open refused after the daemon's reply returns -EIO, spec §b.3).
 * Records that find the ring buffer full are counted in `lost`, never dropped silently. No record wakes the
 * loader (BPF_RB_NO_WAKEUP): it drains the ring buffer on a timer, so a busy workload pays no wakeup per event. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "record.h"

char LICENSE[] SEC("license") = "GPL";

#define FUSE_LOOKUP 1
#define FUSE_UNLINK 10
#define FUSE_RENAME 12
#define FUSE_OPEN 14
#define FUSE_RELEASE 18
#define FUSE_FLUSH 25
#define FUSE_CREATE 35
#define FUSE_RENAME2 45
#define NR_ioctl 16
#define FUSE_DEV_IOC_BACKING_OPEN 0x4010e501u  /* _IOW(229, 1, struct fuse_backing_map) */
#define FUSE_DEV_IOC_BACKING_CLOSE 0x4004e502u /* _IOW(229, 2, uint32_t) */

/* Set by the loader before load: the traced connection (fc->dev, kernel encoding). */
const volatile __u32 target_dev = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
} records SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* What a thread is inside of, by thread id: an OPEN/CREATE it sent (its syscall's return is the verdict) or one of
 * the two ioctls (its return is the id). */
struct pending {
	__u32 kind; /* FBC_VERDICT, FBC_BACKING_OPEN, FBC_BACKING_CLOSE */
	__s32 fd;
	__u64 unique;
	__u64 ino;
	__u32 dev;
	__s32 backing_id;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct pending);
} pending SEC(".maps");

static __always_inline struct fbc_record *reserve(__u32 kind)
{
	struct fbc_record *r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r) {
		__u32 zero = 0;
		__u64 *n = bpf_map_lookup_elem(&lost, &zero);
		if (n)
			(*n)++;
		return NULL;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->t_ns = bpf_ktime_get_ns();
	r->kind = kind;
	__u64 id = bpf_get_current_pid_tgid();
	r->pid = (__u32)id;
	r->tgid = id >> 32;
	return r;
}

static __always_inline bool ours(const struct fuse_req *req)
{
	return BPF_CORE_READ(req, fm, fc, dev) == target_dev;
}

static __always_inline const void *in_arg(struct fuse_args *args, int i)
{
	return BPF_CORE_READ(args, in_args[i].value);
}

SEC("tp_btf/fuse_request_send")
int BPF_PROG(request_send, const struct fuse_req *req)
{
	if (!ours(req))
		return 0;
	__u32 opcode = BPF_CORE_READ(req, in.h.opcode);
	/* Only the requests a replay needs: the others (GETATTR, READDIR, …) would only cost ring buffer space. */
	switch (opcode) {
	case FUSE_LOOKUP: case FUSE_UNLINK: case FUSE_RENAME: case FUSE_RENAME2: case FUSE_OPEN: case FUSE_CREATE:
	case FUSE_RELEASE: case FUSE_FLUSH:
		break;
	default:
		return 0;
	}
	struct fuse_args *args = BPF_CORE_READ(req, args);
	struct fbc_record *r = reserve(FBC_SEND);
	if (!r)
		return 0;
	r->opcode = opcode;
	r->unique = BPF_CORE_READ(req, in.h.unique);
	r->nodeid = BPF_CORE_READ(req, in.h.nodeid);
	r->pid = BPF_CORE_READ(req, in.h.pid);
	switch (opcode) {
	case FUSE_OPEN:
	case FUSE_CREATE: {
		/* fuse_open_in and fuse_create_in both start with the open flags */
		bpf_probe_read_kernel(&r->flags, sizeof(r->flags), in_arg(args, 0));
		if (opcode == FUSE_CREATE)
			bpf_probe_read_kernel_str(r->name, sizeof(r->name), in_arg(args, 1));
		/* The sending thread is the opener (OPEN and CREATE are synchronous requests). */
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		struct pending p = { .kind = FBC_VERDICT, .unique = r->unique };
		bpf_map_update_elem(&pending, &tid, &p, BPF_ANY);
		break;
	}
	case FUSE_RELEASE:
	case FUSE_FLUSH: {
		struct fuse_release_in in = {};
		bpf_probe_read_kernel(&in, opcode == FUSE_RELEASE ? sizeof(in) : 8, in_arg(args, 0));
		r->fh = in.fh;
		r->flags = in.flags;
		break;
	}
	case FUSE_LOOKUP:
	case FUSE_UNLINK:
		/* Since 6.14 the name is in_args[1] behind an empty in_args[0] (fuse_set_zero_arg0); before, in_args[0]. */
		bpf_probe_read_kernel_str(r->name, sizeof(r->name), in_arg(args, BPF_CORE_READ(args, in_args[0].size) == 0 ? 1 : 0));
		break;
	case FUSE_RENAME:
	case FUSE_RENAME2:
		bpf_probe_read_kernel_str(r->name, sizeof(r->name), in_arg(args, 1));
		break;
	}
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("tp_btf/fuse_request_end")
int BPF_PROG(request_end, const struct fuse_req *req)
{
	if (!ours(req))
		return 0;
	__u32 opcode = BPF_CORE_READ(req, in.h.opcode);
	/* Only the replies a replay needs: everything else is known from its request. */
	if (opcode != FUSE_OPEN && opcode != FUSE_CREATE && opcode != FUSE_LOOKUP)
		return 0;
	struct fuse_args *args = BPF_CORE_READ(req, args);
	struct fbc_record *r = reserve(FBC_END);
	if (!r)
		return 0;
	r->opcode = opcode;
	r->unique = BPF_CORE_READ(req, in.h.unique);
	r->nodeid = BPF_CORE_READ(req, in.h.nodeid);
	r->error = BPF_CORE_READ(req, out.h.error);
	if (r->error == 0) {
		if (opcode == FUSE_LOOKUP || opcode == FUSE_CREATE) {
			struct fuse_entry_out e = {};
			bpf_probe_read_kernel(&e, sizeof(e), BPF_CORE_READ(args, out_args[0].value));
			r->nodeid = e.nodeid;
			r->generation = e.generation;
			r->ino = e.attr.ino;
		}
		if (opcode == FUSE_OPEN || opcode == FUSE_CREATE) {
			struct fuse_open_out o = {};
			bpf_probe_read_kernel(&o, sizeof(o), BPF_CORE_READ(args, out_args[opcode == FUSE_CREATE ? 1 : 0].value));
			r->fh = o.fh;
			r->open_flags = o.open_flags;
			r->backing_id = o.backing_id;
		}
	}
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 0;
}

/* The struct file behind fd in the current task's table, or NULL. */
static __always_inline struct file *fd_file(int fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	if (id != NR_ioctl)
		return 0;
	__u32 cmd = (__u32)BPF_CORE_READ(regs, si);
	if (cmd != FUSE_DEV_IOC_BACKING_OPEN && cmd != FUSE_DEV_IOC_BACKING_CLOSE)
		return 0;
	/* The ioctl's fd must be a /dev/fuse of the traced connection: its private_data is the struct fuse_dev. */
	struct file *dev = fd_file((int)BPF_CORE_READ(regs, di));
	if (!dev)
		return 0;
	struct fuse_dev *fud = BPF_CORE_READ(dev, private_data);
	if (!fud || BPF_CORE_READ(fud, fc, dev) != target_dev)
		return 0;
	void *arg = (void *)BPF_CORE_READ(regs, dx);
	struct pending p = {};
	if (cmd == FUSE_DEV_IOC_BACKING_OPEN) {
		struct fuse_backing_map map = {};
		bpf_probe_read_user(&map, sizeof(map), arg);
		p.kind = FBC_BACKING_OPEN;
		p.fd = map.fd;
		struct file *backing = fd_file(map.fd);
		if (backing) {
			p.ino = BPF_CORE_READ(backing, f_inode, i_ino);
			p.dev = BPF_CORE_READ(backing, f_inode, i_sb, s_dev);
		}
	} else {
		p.kind = FBC_BACKING_CLOSE;
		bpf_probe_read_user(&p.backing_id, sizeof(p.backing_id), arg);
	}
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&pending, &tid, &p, BPF_ANY);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending *p = bpf_map_lookup_elem(&pending, &tid);
	if (!p)
		return 0;
	struct fbc_record *r = reserve(p->kind);
	if (r) {
		r->error = (__s32)ret;
		r->opcode = (__u32)BPF_CORE_READ(regs, orig_ax);
		r->unique = p->unique;
		r->ino = p->ino;
		r->dev = p->dev;
		r->fd = p->fd;
		r->backing_id = p->backing_id;
		bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	}
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}
