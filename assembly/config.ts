// Build-time switches, set per target in asconfig.json (`use`).

/**
 * The threaded build (build/fbreplay.shared.wasm): several workers replay into one shared memory. It adds what
 * sharing needs and the single-threaded builds leave out because it costs the same under every policy: the
 * connection's lock around the idr and the backing inode cache, atomic reference counts, per-worker counters and
 * fuse_backing slab caches (slab.ts), and a daemon lock per nodeid stripe. The inode spinlock is taken in every build.
 */
// @ts-ignore: defined by `--use THREADED=0|1`
export const THREADED: bool = <bool>FBR_THREADED;
