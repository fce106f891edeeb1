// The backing table both conflict-check suites (check, contention) build in a bare core: `files` files, each
// followed by a re-downloaded copy (another inode, the same bytes), so every policy has both outcomes to decide.

/** Fills the core's backing table; `memory` is the core's (read after each add: adding may grow it). */
export function addCheckFiles(core, memory, files, what) {
  if (!core.backing_reserve(files * 2, files * 2)) throw new Error(`${what}: out of memory for the backing table`);
  const sb = core.backing_sb_new(1);
  for (let f = 0; f < files * 2; f++) {
    core.backing_inode_define(f, sb, 1000 + f);
    const digest = core.backing_file_add(f);
    new DataView(memory.buffer).setUint32(digest, f >> 1, true); // a copy shares its original's bytes
  }
}
