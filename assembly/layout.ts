// Object layouts in linear memory. Kernel objects keep the x86_64 offsets of spec §f within the cache lines the
// modelled paths touch, so the conflict check performs the same dependent loads, on as many distinct lines, as the
// kernel; pointers are 32-bit (wasm32) but sit at the kernel's offsets. Lines no modelled path touches are not
// replicated (as for fuse_inode below): they never enter the cache, so the cache footprint is the kernel's, while
// a full-size stride would only add 4 KiB-page TLB misses that the kernel, whose slab objects live in the direct
// map on huge pages, does not have; and it would triple the model's memory under policies that pin a backing per
// inode (bench/README.md, "Memory").

// struct file (6.15+, 192 B in the kernel): the daemon's registered backing file. Only its first line is read:
// f_inode at 32 (spec §f).
export const FILE_SIZE: usize = 64;
export const F_INODE: usize = 32;

// struct inode of the backing file system (≈ 640 B in the kernel), in memory only while a struct file references
// it (as in the kernel's inode cache). Three lines are touched: i_sb (40) in the first, i_ino (64) in the second,
// and i_count's line (kernel offset 336 = 5 × 64 + 16), kept here as the third line at the same offset within it.
export const INODE_SIZE: usize = 192;
export const I_SB: usize = 40;
export const I_INO: usize = 64;
export const I_COUNT: usize = 144;
/** Model state, beside i_count: the inode's index in the host's table of (st_dev, st_ino), and the free-list link. */
export const I_MODEL_INDEX: usize = 152;
export const I_NEXT_FREE: usize = 156;

// The table of backing inodes the trace names, by index: the live object (or 0), its super_block, its number, and
// the digest of its current content (the latest version of it an event named).
export const IT_SIZE: usize = 24;
export const IT_OBJECT: usize = 0;
export const IT_SB: usize = 4;
export const IT_INO: usize = 8;
export const IT_CONTENT: usize = 16;

// struct super_block: s_dev follows the s_list head.
export const SB_SIZE: usize = 64;
export const S_DEV: usize = 16;

// struct fuse_backing in its kmalloc-64 slab: file, cred, count, rcu head (spec §a.2). FB_DIGEST is the content
// digest captured at BACKING_OPEN, which only the hypothetical P3 kernel would keep (spec §d).
export const FB_SIZE: usize = 64;
export const FB_FILE: usize = 0;
export const FB_CRED: usize = 8;
export const FB_COUNT: usize = 16;
export const FB_DIGEST: usize = 40;
/** Model state: the index of the backing inode in the host's table, so the accounting of an accept reads this line
 * only and adds no cache misses the kernel's open does not have. */
export const FB_INODE_INDEX: usize = 44;
export const FB_NEXT_FREE: usize = 48;

// struct fuse_inode, regular-file part, one cache line. The embedded struct inode is not replicated: the open
// path reaches the fuse-specific fields directly and touches only this line.
export const FI_SIZE: usize = 64;
export const FI_LOCK: usize = 0;
export const FI_IOCACHECTR: usize = 4;
export const FI_FB: usize = 8;
export const FI_STATE: usize = 12;
/** Model state: open files of this instance (any io mode). */
export const FI_NFILES: usize = 16;
/** Model state: open files that may write. */
export const FI_WRITERS: usize = 20;
/** Model state: the nodeid names a live inode instance. */
export const FI_ALIVE: usize = 24;
// fi->state bits.
export const FUSE_I_CACHE_IO_MODE: i32 = 1 << 5;
/** Backing attached at lookup (Amir's "long lived reference" patch). */
export const FUSE_I_BACKING: i32 = 1 << 6;

// struct fuse_file, the model's part.
export const FF_SIZE: usize = 32;
export const FF_STATE: usize = 0;
export const FF_NODEID: usize = 4;
export const FF_IOMODE: usize = 8;
export const FF_MAY_WRITE: usize = 12;
/** The per-file backing file's struct file (what the file's I/O reaches). */
export const FF_PASSTHROUGH: usize = 16;
export const FF_DAEMON_ID: usize = 20;
export const FF_DAEMON_GEN: usize = 24;
export const FILE_FREE: i32 = 0;
export const FILE_OPEN: i32 = 1;
/** The open returned EIO; its RELEASE already went to the daemon synchronously (spec §b.3). */
export const FILE_FAILED: i32 = 2;
/** FF_DAEMON_GEN of a file the daemon keeps no state for. */
export const UNTRACKED: i32 = -1;

// What the daemon remembers per nodeid (libfuse passthrough_hp: one backing id per inode).
export const DI_SIZE: usize = 20;
export const DI_ID: usize = 0;
/** The backing inode (index in the host's table) the id was registered for. */
export const DI_INODE: usize = 4;
export const DI_NOPEN: usize = 8;
export const DI_GEN: usize = 12;
/** stable-id-keep: 1 when this daemon registered DI_ID itself, 0 when it found it registered (inherited). */
export const DI_OWN: usize = 16;

// The backing-file table, shared by all contexts: per bref, its backing inode's index and the digest.
export const BR_SIZE: usize = 8;
export const BR_INODE_INDEX: usize = 0;
export const BR_DIGEST: usize = 4;
export const DIGEST_SIZE: usize = 32;

// The connection's idr: open addressing, 8 B slots of (id, fuse_backing pointer); id 0 marks a free slot.
export const IDR_SLOT: usize = 8;
