// The daemon process: opens /dev/fuse, mounts, serves, and streams records to the controller (startDaemon) over
// the IPC channel. Its own process, so that nothing the caller does on the mount (synchronous fs calls, a busy
// libuv pool) can wait on the daemon while the daemon waits on it.
//
// Lifetime: the controller unmounts (ENODEV ends the loop) or says "stop". If the controller disappears or
// SIGTERM/SIGHUP arrive, the daemon detaches the mount itself (umount -l, asynchronously: it keeps serving while
// umount looks at the mount point) and exits. SIGINT is left to the controller, which shares the terminal.
import { openSync } from "node:fs";
import { tryLoadAddon } from "./addon.js";
import { FuseDaemon } from "./daemon.js";
import type { FromDaemon, ServerConfig, ToDaemon } from "./ipc.js";
import { mountFuse, unmountLazy } from "./mount.js";
import { Recorder, type DaemonRecord } from "./records.js";

const GRACE_MS = 3000;

function send(m: FromDaemon): void {
  if (process.connected) process.send!(m);
}

/** Records go out in batches, at most one IPC message per turn of the event loop. */
class RecordStream {
  private pending: DaemonRecord[] = [];
  private scheduled = false;

  push(r: DaemonRecord): void {
    this.pending.push(r);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    send({ t: "records", records: this.pending });
    this.pending = [];
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]) as ServerConfig;
  // Modes in CREATE/MKDIR come with the caller's umask applied; the daemon's own must not apply twice.
  process.umask(0);
  const stream = new RecordStream();
  const devFd = openSync("/dev/fuse", "r+");
  const daemon = new FuseDaemon(devFd, config, new Recorder((r) => stream.push(r), config.recordsFile), tryLoadAddon());
  const served = daemon.serve();
  let error: string | null = null;
  served.catch((e) => { error = (e as Error).message; });

  let shuttingDown = false;
  const shutdown = () => {
    if (shuttingDown) return;
    shuttingDown = true;
    void unmountLazy(config.mountpoint);
    // Files still open on the detached mount keep it alive: after the grace period, exiting aborts the connection.
    setTimeout(() => finish(), GRACE_MS).unref();
  };
  const finish = () => {
    stream.flush();
    send({ t: "exit", stats: daemon.stats(), error });
    daemon.close();
    process.exit(error === null ? 0 : 1);
  };
  process.on("SIGINT", () => {});
  process.on("SIGTERM", shutdown);
  process.on("SIGHUP", shutdown);
  process.on("disconnect", shutdown);
  process.on("message", (m: ToDaemon) => {
    if (m.t === "restart") {
      daemon.restart(m.closeIds);
      stream.flush();
      send({ t: "done", id: m.id, stats: daemon.stats() });
    } else if (m.t === "settle") {
      const check = () => {
        const idle = Number(process.hrtime.bigint() - daemon.lastRequest) / 1e6;
        if (idle < m.idleMs) return void setTimeout(check, Math.max(1, m.idleMs - idle));
        stream.flush();
        send({ t: "done", id: m.id, stats: daemon.stats() });
      };
      check();
    } else if (m.t === "action") {
      let error: string | null = null;
      try {
        daemon.action(m.action);
      } catch (e) {
        error = (e as Error).message;
      }
      stream.flush();
      send({ t: "done", id: m.id, stats: daemon.stats(), error });
    } else if (m.t === "stop") {
      daemon.stop();
      shutdown();
    }
  });

  try {
    await mountFuse(devFd, config.mountpoint, { fsname: config.fsname, subtype: "fbreplay" });
  } catch (e) {
    send({ t: "failed", message: (e as Error).message });
    process.exit(1);
  }
  send({ t: "ready", status: await daemon.initialized() });
  await served.catch(() => {});
  finish();
}

void main().catch((e) => {
  send({ t: "failed", message: (e as Error).message });
  process.exit(1);
});
