// Scenario actions (spec §d): what a daemon's owner does to a backing file while the kernel keeps its fuse inode
// and files are held open through it. Each acts on the source directory and, where the backing file becomes
// another inode, rebinds the daemon's inode (same nodeid) to it, so the next open of that nodeid names the new file:
//
//   redownload  delete the file and write it again with the same bytes: a new backing inode, same content (S3)
//   replace     write new bytes to a new file and rename it over: a new inode, other content (S4a)
//   rewrite     write new bytes into the same file: same inode, other content (S4b)
//   serve       answer the nodeid with another, existing file from now on: two files on one fuse inode (S5)
import {
  closeSync, fstatSync, ftruncateSync, openSync, readFileSync, readlinkSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync,
} from "node:fs";
import { join } from "node:path";
import type { InodeTable } from "./inodes.js";

export type ScenarioAction =
  | { kind: "redownload"; path: string }
  | { kind: "replace"; path: string; bytes: string }
  | { kind: "rewrite"; path: string; bytes: string }
  | { kind: "serve"; path: string; other: string };

/** What an action did, for the records: the backing inode before and after (dev:ino), and the nodeid rebound. */
export interface ActionResult {
  nodeid: number;
  before: string;
  after: string;
}

/** `bytes` are base64 (they travel over IPC as JSON). Paths are relative to the source directory. */
export function performAction(inodes: InodeTable, a: ScenarioAction): ActionResult {
  const path = join(inodes.rootPath, a.path);
  const st = statSync(path, { bigint: true });
  const inode = inodes.findBacking(st.dev, st.ino);
  const before = `${st.dev}:${st.ino}`;
  switch (a.kind) {
    case "redownload": {
      const bytes = readFileSync(path);
      unlinkSync(path);
      writeFileSync(path, bytes, { mode: Number(st.mode) & 0o7777 });
      if (inode) inodes.rebind(inode, path);
      break;
    }
    case "replace": {
      const tmp = `${path}.fbreplay-new`;
      writeFileSync(tmp, Buffer.from(a.bytes, "base64"), { mode: Number(st.mode) & 0o7777 });
      renameSync(tmp, path);
      if (inode) inodes.rebind(inode, path);
      break;
    }
    case "rewrite": {
      const bytes = Buffer.from(a.bytes, "base64");
      const w = openSync(path, "r+");
      try {
        writeSync(w, bytes, 0, bytes.length, 0);
        ftruncateSync(w, bytes.length);
      } finally {
        closeSync(w);
      }
      break;
    }
    case "serve":
      if (inode) inodes.rebind(inode, join(inodes.rootPath, a.other));
      break;
  }
  const now = inode ?? statSync(path, { bigint: true });
  return { nodeid: inode?.nodeid ?? 0, before, after: `${now.dev}:${now.ino}` };
}

/**
 * The re-download the daemon injects before an open of `nodeid` (DaemonConfig.redownloadEvery): the file the
 * inode names now, if it is a regular file still linked in the source directory.
 */
export function redownloadNodeid(inodes: InodeTable, nodeid: number): ActionResult | null {
  const inode = inodes.find(nodeid);
  if (inode === undefined) return null;
  let target: string;
  try {
    target = readlinkSync(`/proc/self/fd/${inode.fd}`); // the O_PATH descriptor's current path
  } catch {
    return null;
  }
  if (target.endsWith(" (deleted)") || !target.startsWith(`${inodes.rootPath}/`)) return null;
  const st = fstatSync(inode.fd, { bigint: true });
  if ((Number(st.mode) & 0o170000) !== 0o100000) return null;
  return performAction(inodes, { kind: "redownload", path: target.slice(inodes.rootPath.length + 1) });
}
