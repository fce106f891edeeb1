// Messages between startDaemon (the controller, in the caller's process) and the daemon process.
import type { DaemonConfig, DaemonStats, DaemonStatus } from "./daemon.js";
import type { DaemonRecord } from "./records.js";
import type { ScenarioAction } from "./actions.js";

/** What the daemon process is started with (argv[2], JSON). */
export interface ServerConfig extends DaemonConfig {
  mountpoint: string;
  recordsFile?: string;
  fsname: string;
}

export type ToDaemon =
  | { t: "restart"; id: number; closeIds: boolean }
  /** Answer once no request came for idleMs (asynchronous RELEASEs land within that). */
  | { t: "settle"; id: number; idleMs: number }
  | { t: "action"; id: number; action: ScenarioAction }
  | { t: "stop" };

export type FromDaemon =
  | { t: "ready"; status: DaemonStatus }
  | { t: "failed"; message: string }
  | { t: "records"; records: DaemonRecord[] }
  | { t: "done"; id: number; stats: DaemonStats; error?: string | null }
  | { t: "exit"; stats: DaemonStats; error: string | null };
