/* One capture record: what the BPF program (fbcapture.bpf.c) puts in the ring buffer, what the loader writes to its
 * stdout unchanged, and what src/capture/records.ts decodes. Fixed size, little-endian, no padding holes. */
#ifndef FBCAPTURE_RECORD_H
#define FBCAPTURE_RECORD_H

#define FBC_NAME_LEN 64

/* kind */
#define FBC_READY 1        /* loader: the programs are attached; `lost` = 0; READY and DONE: `generation` = CLOCK_REALTIME at t_ns */
#define FBC_SEND 2         /* fuse_request_send: a request of the traced connection left for the daemon */
#define FBC_END 3          /* fuse_request_end: its reply (or abort) arrived */
#define FBC_BACKING_OPEN 4 /* the daemon's FUSE_DEV_IOC_BACKING_OPEN returned (error: the id or -errno) */
#define FBC_BACKING_CLOSE 5
#define FBC_VERDICT 6      /* the syscall that sent OPEN/CREATE `unique` returned `error` to the opener */
#define FBC_DONE 7         /* loader: last record; `lost` = records the ring buffer had no room for */

struct fbc_record {
	__u64 t_ns;       /* bpf_ktime_get_ns */
	__u32 kind;
	__u32 opcode;     /* FUSE opcode (SEND/END); the syscall number (VERDICT) */
	__u64 unique;
	__u64 nodeid;     /* header nodeid; END of LOOKUP/CREATE: the entry's nodeid */
	__u32 pid;        /* SEND/END: the header's pid; ioctls/VERDICT: the calling thread */
	__u32 tgid;       /* the calling process (the daemon's, for ioctls and END) */
	__s32 error;      /* END: reply error; ioctls: return value; VERDICT: syscall return */
	__u32 flags;      /* OPEN/CREATE: open flags; RELEASE: release flags' flags field */
	__u64 fh;         /* OPEN/CREATE reply, RELEASE/FLUSH request */
	__u32 open_flags; /* OPEN/CREATE reply: FOPEN_* */
	__s32 backing_id; /* OPEN/CREATE reply; BACKING_CLOSE: the id closed */
	__u64 generation; /* LOOKUP/CREATE reply */
	__u64 ino;        /* LOOKUP/CREATE reply: attr.ino; BACKING_OPEN: the backing file's i_ino */
	__u32 dev;        /* BACKING_OPEN: the backing file's s_dev (kernel encoding, major << 20 | minor) */
	__s32 fd;         /* BACKING_OPEN: the daemon's fd of the backing file */
	__u64 lost;       /* DONE: records lost */
	char name[FBC_NAME_LEN]; /* LOOKUP/CREATE/UNLINK: the name; RENAME/RENAME2: the old name */
};

#endif
