/**
 * @module
 * What the HTTP app is built from. Everything is passed in (no globals, no env reads), so
 * tests build an app over a temp-dir store and a fake {@link Origins}.
 */
import type { Logger } from "../log.ts";
import type { Registry } from "../index/registry.ts";
import type { ReadStore } from "../store/store.ts";

/**
 * Where blob bytes are fetched from (implemented in lib/origins/). The app only asks
 * for a redirect target, for readiness and for extra metrics lines.
 */
export interface Origins {
  /**
   * The URL a client should GET blob `digest` (of `size` bytes) from, for a 307.
   * Throws (or rejects with) an OciError: BLOB_UNKNOWN, or UNAVAILABLE when no origin is
   * healthy. May answer with a plain string when no I/O is needed (a healthy origin, no
   * presence check pending): the app then answers without a promise.
   */
  locate(digest: string, size: number): string | Promise<string>;
  /** Whether at least one origin is healthy, with per-origin detail for `/readyz`. */
  readiness(): { ready: boolean; origins: unknown[] };
  /** Prometheus text-format lines (with their `# HELP`/`# TYPE`), appended to `/metrics`. */
  metrics?(): string;
}

/**
 * A store mounted under a repository-name prefix (federation, lib/server/mounts.ts):
 * repository `<prefix>/<name>` is `<name>` of `registry`, its blobs go to `origins`.
 */
export interface Mount {
  /** A valid repository name, not nested in another mount's (lib/config/mounts.ts). */
  prefix: string;
  registry: Registry;
  /** When it can stream and the mount has no origins, its blobs are served from it. */
  store: ReadStore;
  origins?: Origins;
}

/** Dependencies of {@link createApp} (lib/server/app.ts). */
export interface AppDeps {
  /** The root store's registry: every name under no mount. */
  registry: Registry;
  /** The store the registry reads; when it can stream and no origins are set, blobs are served from it. */
  store: ReadStore;
  origins?: Origins;
  /** More stores under repository-name prefixes; their names shadow the root's. */
  mounts?: readonly Mount[];
  /** Base URL every `/v1/...` request (other than `/v1/_ping`) is redirected to. */
  v1Origin?: string;
  log: Logger;
}
