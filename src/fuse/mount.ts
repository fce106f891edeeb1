// Mounting and unmounting. The daemon opens /dev/fuse itself and hands the descriptor to mount(8) as fd 3
// (`-o fd=3`), the way fusermount3 hands it back to libfuse; `-i` keeps mount(8) from looking for a
// mount.fuse helper. Unmounting needs no help from the daemon, but a plain umount stats the mount point, which
// asks the daemon: never unmount synchronously from the daemon's own thread.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface MountOptions {
  /** The source column of /proc/mounts. */
  fsname: string;
  /** The type shows as fuse.<subtype>. */
  subtype: string;
}

/** mount(8) arguments for a FUSE mount of the descriptor that the child sees as fd 3. */
export function mountArgs(mountpoint: string, o: MountOptions): string[] {
  const options = ["fd=3", "rootmode=40000", "user_id=0", "group_id=0", "default_permissions", "allow_other"];
  return ["-i", "-t", `fuse.${o.subtype}`, "-o", options.join(","), o.fsname, mountpoint];
}

/** Mounts the connection of `devFd` on `mountpoint`; rejects with mount(8)'s own message. */
export function mountFuse(devFd: number, mountpoint: string, o: MountOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("mount", mountArgs(mountpoint, o), { stdio: ["ignore", "ignore", "pipe", devFd] });
    let stderr = "";
    child.stderr!.on("data", (d) => { stderr += d; });
    child.on("error", (e) => reject(new Error(`cannot run mount: ${e.message}`)));
    child.on("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`mount ${mountpoint} failed (status ${code}): ${stderr.trim().replace(/\s+/g, " ")}`));
    });
  });
}

/** /proc/self/mountinfo escapes blanks and backslashes as octal. */
const escapeMountinfo = (path: string) => path.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);

/** Whether something is mounted right on `mountpoint` (an absolute, canonical path). */
export function isMounted(mountpoint: string): boolean {
  const want = escapeMountinfo(mountpoint);
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((line) => line.split(" ")[4] === want);
}

/**
 * Unmounts and waits: umount, then lazily (umount -l) if the mount is busy. Only from a process that is not
 * serving the mount. Returns whether the mount point is free.
 */
export function unmountSync(mountpoint: string): boolean {
  for (const args of [[mountpoint], ["-l", mountpoint]]) {
    if (!isMounted(mountpoint)) return true;
    spawnSync("umount", args, { stdio: "ignore", timeout: 10_000 });
  }
  return !isMounted(mountpoint);
}

/** Lazy unmount without blocking the event loop: what the daemon itself may use, since it keeps serving meanwhile. */
export function unmountLazy(mountpoint: string): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn("umount", ["-l", mountpoint], { stdio: "ignore" });
    child.on("error", () => resolve());
    child.on("close", () => resolve());
  });
}
