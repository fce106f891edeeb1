// The daemon models: which backing id each passthrough open carries, and when the daemon closes ids.
import { DAEMON_PER_NODEID, DAEMON_PER_OPEN, DAEMON_RECORDED, DAEMON_STABLE_ID, DAEMON_STABLE_ID_KEEP, POLICY_LOOKUP } from "../src/abi";
import { backingClose, backingOpen, backingOpenIfAbsent } from "./backing";
import { CTX_DAEMON_GEN, ctxLoad, daemon, daemonLock, daemonUnlock, dinodeAt, policy } from "./ctx";
import { BR_INODE_INDEX, DI_GEN, DI_INODE, DI_ID, DI_NOPEN, DI_OWN, FF_DAEMON_GEN, FF_DAEMON_ID, FF_NODEID } from "./layout";

/** The stable-id daemon's id for a backing inode: its identity (the inode index), never 0. */
// @ts-ignore: decorator
@inline function stableId(inodeIndex: u32): i32 {
  return <i32>inodeIndex + 1;
}

/** Whether the daemon closes its id for `d` when done with it: stable-id-keep never closes one it inherited. */
// @ts-ignore: decorator
@inline function closesId(d: usize): bool {
  return daemon != DAEMON_STABLE_ID_KEEP || load<i32>(d, DI_OWN) != 0;
}

/** A new inode instance: the daemon has no state for it yet. */
export function daemonForgetInode(nodeid: u32): void {
  const d = dinodeAt(nodeid);
  daemonLock(nodeid);
  store<i32>(d, 0, DI_ID);
  store<i32>(d, 0, DI_NOPEN);
  store<i32>(d, 0, DI_OWN);
  store<i32>(d, ctxLoad(CTX_DAEMON_GEN), DI_GEN);
  daemonUnlock(nodeid);
}

/** The backing id the daemon puts in its open reply for `ff`; `recordedId` is the capture's (recorded daemon). */
export function daemonOpenBacking(nodeid: u32, ff: usize, bref: u32, brefPtr: usize, recordedId: i32): i32 {
  if (policy == POLICY_LOOKUP) return 0; // "use the inode's backing"
  if (daemon == DAEMON_RECORDED) return recordedId; // the captured daemon's registrations are rows of their own
  const gen = ctxLoad(CTX_DAEMON_GEN);
  store<i32>(ff, gen, FF_DAEMON_GEN);
  if (daemon == DAEMON_PER_OPEN) {
    let id = backingOpen(brefPtr);
    if (id < 0) id = 0;
    store<i32>(ff, id, FF_DAEMON_ID);
    return id;
  }
  const d = dinodeAt(nodeid);
  daemonLock(nodeid);
  if (load<i32>(d, DI_GEN) != gen) { // a restarted daemon starts with no ids
    store<i32>(d, gen, DI_GEN);
    store<i32>(d, 0, DI_ID);
    store<i32>(d, 0, DI_NOPEN);
    store<i32>(d, 0, DI_OWN);
  }
  let id = load<i32>(d, DI_ID);
  const inode = load<u32>(brefPtr, BR_INODE_INDEX);
  // The file was replaced under the daemon (another backing inode; bytes rewritten in place are the same file, as
  // passthrough_hp keys its ids by inode): register the new one. mergerfs (per-nodeid) keeps the old id until the
  // nodeid's last release.
  if (id != 0 && load<u32>(d, DI_INODE) != inode && daemon != DAEMON_PER_NODEID) {
    if (closesId(d)) backingClose(id);
    id = 0;
    store<i32>(d, 0, DI_ID);
  }
  if (daemon == DAEMON_STABLE_ID || daemon == DAEMON_STABLE_ID_KEEP) {
    // The id is the backing inode's identity, registered only when no registration of it exists (the model's twin
    // says why: a duplicate would shadow the old object). Found there, it is inherited (a predecessor's).
    const stable = stableId(inode);
    const registered = backingOpenIfAbsent(brefPtr, stable);
    if (registered == 1) store<i32>(d, 1, DI_OWN);
    else if (id != stable) store<i32>(d, 0, DI_OWN);
    id = stable;
    store<i32>(d, id, DI_ID);
    store<u32>(d, inode, DI_INODE);
  } else if (id == 0) {
    const newId = backingOpen(brefPtr);
    if (newId > 0) {
      id = newId;
      store<i32>(d, id, DI_ID);
      store<u32>(d, load<u32>(brefPtr, BR_INODE_INDEX), DI_INODE);
    }
  }
  store<i32>(d, load<i32>(d, DI_NOPEN) + 1, DI_NOPEN);
  daemonUnlock(nodeid);
  store<i32>(ff, id, FF_DAEMON_ID);
  return id;
}

/** FUSE_RELEASE reaching the daemon. A restarted daemon ignores fhs it never handed out. */
export function daemonRelease(ff: usize): void {
  if (load<i32>(ff, FF_DAEMON_GEN) != ctxLoad(CTX_DAEMON_GEN)) return;
  if (daemon == DAEMON_PER_OPEN) {
    const id = load<i32>(ff, FF_DAEMON_ID);
    if (id > 0) backingClose(id);
    return;
  }
  const nodeid = load<u32>(ff, FF_NODEID);
  const d = dinodeAt(nodeid);
  daemonLock(nodeid);
  const nopen = load<i32>(d, DI_NOPEN) - 1;
  store<i32>(d, nopen, DI_NOPEN);
  const id = load<i32>(d, DI_ID);
  if (nopen == 0 && id != 0) {
    if (closesId(d)) backingClose(id);
    store<i32>(d, 0, DI_ID);
  }
  daemonUnlock(nodeid);
}


