// The optional native addon (native/, N-API): the FUSE_DEV_IOC_BACKING_OPEN / _CLOSE ioctls, which Node cannot
// issue. Loaded lazily so that everything else in fbreplay, and this daemon without passthrough, works without it.
import { createRequire } from "node:module";

export interface PassthroughAddon {
  /**
   * Registers `backingFd` with the connection of `devFd`; returns the backing id (> 0). Throws Error with .code.
   * `padding` is fuse_backing_map's spare u64 (0 on mainline; the `digest` kernel's content tag with its flag).
   */
  backingOpen(devFd: number, backingFd: number, flags?: number, padding?: bigint): number;
  /** Drops the registration of `id`; files opened with it keep their backing file. Throws Error with .code. */
  backingClose(devFd: number, id: number): void;
}

export const ADDON_MISSING = "native passthrough addon not built: run `npm run build:native` (needs python3, make, a C compiler)";

export class AddonMissingError extends Error {
  constructor(cause?: unknown) {
    super(ADDON_MISSING, { cause });
    this.name = "AddonMissingError";
  }
}

// src/fuse/ and dist/fuse/ both sit two levels below the package root, beside native/.
const ADDON_PATH = new URL("../../native/build/Release/fbreplay_passthrough.node", import.meta.url);

let loaded: PassthroughAddon | AddonMissingError | undefined;

/** The addon, or an AddonMissingError (also kept for later calls: the build does not appear mid-run). */
export function tryLoadAddon(): PassthroughAddon | AddonMissingError {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)(ADDON_PATH.pathname) as PassthroughAddon;
    } catch (e) {
      loaded = new AddonMissingError(e);
    }
  }
  return loaded;
}

/** The addon; throws AddonMissingError with the one-line message when it is not built. */
export function loadAddon(): PassthroughAddon {
  const addon = tryLoadAddon();
  if (addon instanceof AddonMissingError) throw addon;
  return addon;
}
