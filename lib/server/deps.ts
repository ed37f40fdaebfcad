/**
 * @module
 * What the HTTP app is built from: the stores ({@link Mount}) and their
 * {@link Origins}. Everything is passed in (no globals, no env reads), so tests build an
 * app over a temp-dir store and a fake {@link Origins}. `AppDeps` (lib/server/app.ts)
 * gathers them.
 */
import type { Registry } from "../index/registry.ts";
import type { Egress } from "../origins/routing.ts";
import type { ReadStore } from "../store/store.ts";

/** What an {@link Origins} reports for `/metrics` (lib/server/metrics.ts renders it). */
export interface OriginStats {
  /**
   * Each origin in order of preference: its health, how long its last health check took
   * (seconds; null before the first) and the redirects sent to it.
   */
  origins: readonly {
    name: string;
    healthy: boolean;
    redirects: number;
    checkSeconds?: number | null;
  }[];
  /** The blob-presence cache (lib/origins/verify.ts), when there is one. */
  verifyCache?: { hits: number; misses: number };
}

/**
 * Where blob bytes are fetched from (implemented in lib/origins/). The app only asks
 * for a redirect target, for readiness and for figures to export as metrics.
 */
export interface Origins {
  /**
   * The URL a client should GET blob `digest` (of `size` bytes) from, for a 307.
   * Throws (or rejects with) an OciError: BLOB_UNKNOWN, or UNAVAILABLE when no origin is
   * healthy. May answer with a plain string when no I/O is needed (a healthy origin, no
   * presence check pending): the app then answers without a promise. `order` is the
   * preference from {@link egress} (default: config order); the name of the origin chosen
   * is set on `into.origin`.
   */
  locate(
    digest: string,
    size: number,
    order?: readonly number[],
    into?: { origin?: string },
  ): string | Promise<string>;
  /**
   * Client routing (lib/origins/routing.ts): this client's origin order, or that the
   * server streams the blob itself. Absent: always the default order.
   */
  egress?(c: { readonly client: string | undefined }): Egress;
  /** Whether at least one origin is healthy, with per-origin detail for `/readyz`. */
  readiness(): { ready: boolean; origins: unknown[] };
  /** Figures for `/metrics`, read when it is scraped. */
  stats?(): OriginStats;
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
