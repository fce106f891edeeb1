// A FUSE daemon in TypeScript on /dev/fuse, serving a source directory with real kernel passthrough
// (FUSE_PASSTHROUGH, Linux 6.9+), recording every lookup/forget/open/create/release/unlink/rename with the backing
// id it used. See start.ts for the API, records.ts for what is recorded, backing.ts for the daemon models.
export { startDaemon, DaemonError, type DaemonHandle, type DaemonOptions } from "./start.js";
export type { DaemonStats, DaemonStatus } from "./daemon.js";
export { DAEMON_POLICIES, LIVE_DAEMON_MODELS, STABLE_ID_MODELS, type DaemonIdModel, type DaemonPolicy, type LiveDaemonModel } from "./backing.js";
export type { ScenarioAction } from "./actions.js";
export type { DaemonRecord, DaemonRecordOp } from "./records.js";
export { ADDON_MISSING, AddonMissingError, loadAddon, tryLoadAddon, type PassthroughAddon } from "./addon.js";
export { isMounted } from "./mount.js";
export { FOPEN_PASSTHROUGH } from "./protocol.js";
