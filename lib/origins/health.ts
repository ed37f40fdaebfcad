/**
 * @module
 * The health checker: GETs each origin's canary object (the layout marker,
 * `static-registry.json`, conditionally: lib/origins/canary.ts) on an interval, with a
 * timeout and rise/fall thresholds, the way load balancers (HAProxy `rise`/`fall`, nginx
 * `health_check passes=/fails=`) do, and confirms the origin serves THIS store: its marker's
 * id is the served store's (`storeId`).
 *
 * State machine per origin:
 * - `unknown` until its first probe completes. The first probe decides the state on its
 *   own (one success → healthy, one failure → unhealthy): waiting `rise` intervals before a
 *   freshly started server may redirect anything would make every restart an outage, and
 *   assuming "healthy until proven otherwise" would send clients to a dead CDN for up to
 *   `fall` intervals. `start()` runs that first probe immediately and resolves when it is
 *   done, so a server that awaits it is ready with a real answer.
 * - afterwards, a healthy origin becomes unhealthy after `fall` consecutive failures, an
 *   unhealthy one healthy after `rise` consecutive successes.
 *
 * A failure is a timeout, a connection error, any non-2xx status (5xx, and also 403/404:
 * an origin that does not serve the marker does not serve the layout), a body that is not
 * a marker, or a marker of another store (`serves store <id2>, not <id1>`). An identity
 * failure counts like any other, through `fall`: a CDN still caching the marker of before
 * the store's first id (max-age=10) is not dropped for one stale answer. Every transition
 * is logged once with the origin's name and the reason, and so is every change of the
 * store an origin serves (another store, no id, this one again) while its state holds.
 */
import { clearTimeout, setTimeout } from "node:timers";
import type { Logger } from "../log.ts";
import { type CanaryMemo, type CanaryResult, type FetchFn, probeCanary } from "./canary.ts";

export type { FetchFn };

/** Timing and thresholds of the checker, resolved by lib/config (`health`): all >= 1. */
export interface HealthOptions {
  intervalMs: number;
  /** Shorter than `intervalMs`. */
  timeoutMs: number;
  rise: number;
  fall: number;
}

/** What the checker probes: a name and a function returning the canary URL. */
export interface Probe {
  name: string;
  /** The URL to GET (for presigned origins a fresh signed URL each time). */
  canaryUrl(): Promise<string> | string;
}

/** One origin's health, as `/readyz` reports it. */
export interface OriginHealth {
  name: string;
  state: "unknown" | "healthy" | "unhealthy";
  healthy: boolean;
  /** ISO time of the last completed probe, or null before the first. */
  lastCheck: string | null;
  /** Why the last probe failed, or null when it succeeded. */
  lastError: string | null;
  /** How long the last completed probe took (ms), or null before the first. */
  lastCheckMs: number | null;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  /**
   * The store id the origin's marker names at the last probe that read one: null for a
   * marker without an id; undefined before any marker was read.
   */
  storeId?: string | null;
}

/** Runs probes and keeps per-origin state. Create with {@link createHealthChecker}. */
export interface HealthChecker {
  /** Probes every origin now, then every `interval`. Resolves after the first round. */
  start(): Promise<void>;
  /** Clears the timer; an in-flight round finishes but schedules nothing. */
  stop(): void;
  /** Runs one round of probes (all origins in parallel); tests drive the clock with it. */
  checkAll(): Promise<void>;
  /** Whether origin `i` (config order) may receive redirects. */
  isHealthy(i: number): boolean;
  /** A snapshot of every origin's state, in config order. */
  states(): OriginHealth[];
}

/**
 * Creates a health checker for `probes`, in config order.
 *
 * @example
 * ```ts
 * const hc = createHealthChecker([{ name: "cdn-a", canaryUrl: () => "https://a/static-registry.json" }],
 *   { intervalMs: 10_000, timeoutMs: 2_000, rise: 2, fall: 2 }, { log });
 * await hc.start();
 * hc.isHealthy(0);
 * ```
 */
export function createHealthChecker(
  probes: Probe[],
  opts: HealthOptions,
  deps: {
    log: Logger;
    fetch?: FetchFn;
    now?: () => number;
    /**
     * The served store's id, read at each probe (it appears once the index loads, or
     * when a first publish writes one); undefined: any valid marker will do.
     */
    storeId?: () => string | undefined;
  },
): HealthChecker {
  const doFetch = deps.fetch ?? fetch;
  const now = deps.now ?? Date.now;
  const log = deps.log;
  const state = probes.map((p) => ({
    name: p.name,
    state: "unknown" as OriginHealth["state"],
    lastCheck: null as number | null,
    lastError: null as string | null,
    lastCheckMs: null as number | null,
    successes: 0,
    failures: 0,
    memo: undefined as CanaryMemo | undefined,
    storeId: undefined as string | null | undefined,
    /** The identity failure of the last probe that read a marker, null when none. */
    identity: null as string | null,
  }));
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;

  /** One probe: its result (error null on success), timed into `lastCheckMs`. */
  async function probe(p: Probe, i: number): Promise<CanaryResult> {
    const started = performance.now();
    try {
      return await probeOnce(p, i);
    } finally {
      state[i].lastCheckMs = Math.round((performance.now() - started) * 1000) / 1000;
    }
  }

  async function probeOnce(p: Probe, i: number): Promise<CanaryResult> {
    try {
      const url = await p.canaryUrl();
      return await probeCanary(doFetch, url, {
        timeoutMs: opts.timeoutMs,
        expected: deps.storeId?.(),
        memo: state[i].memo,
      });
    } catch (e) {
      return { error: `GET canary: ${(e as Error)?.message ?? String(e)}` };
    }
  }

  function record(i: number, r: CanaryResult): void {
    const s = state[i];
    const error = r.error;
    s.lastCheck = now();
    s.lastError = error;
    if (r.memo) s.memo = r.memo;
    if (r.storeId !== undefined) s.storeId = r.storeId;
    if (error === null) {
      s.successes++;
      s.failures = 0;
    } else {
      s.failures++;
      s.successes = 0;
    }
    const before = s.state;
    if (before === "unknown") s.state = error === null ? "healthy" : "unhealthy";
    else if (before === "unhealthy" && s.successes >= opts.rise) s.state = "healthy";
    else if (before === "healthy" && s.failures >= opts.fall) s.state = "unhealthy";
    const identity = r.storeId === undefined ? s.identity : r.identity ? error : null;
    const identityChanged = identity !== s.identity;
    s.identity = identity;
    if (s.state === before) {
      // No transition to say it: a change of the store the origin serves, said once.
      if (!identityChanged) return;
      if (identity) {
        log.warn(
          { origin: s.name, state: s.state, reason: identity },
          `origin ${s.name} ${identity}`,
        );
      } else {
        log.info(
          { origin: s.name, state: s.state, storeId: s.storeId },
          `origin ${s.name} serves this store again`,
        );
      }
      return;
    }
    const fields = { origin: s.name, from: before, to: s.state };
    if (s.state === "healthy") {
      log.info({ ...fields, successes: s.successes }, `origin ${s.name} is healthy`);
    } else {
      log.warn(
        { ...fields, failures: s.failures, reason: error },
        `origin ${s.name} is unhealthy: ${error}`,
      );
    }
  }

  async function checkAll(): Promise<void> {
    const results = await Promise.all(probes.map((p, i) => probe(p, i)));
    results.forEach((r, i) => record(i, r));
  }

  function schedule(): void {
    if (!running) return;
    timer = setTimeout(async () => {
      await checkAll();
      schedule();
    }, opts.intervalMs);
    // Never keep the process alive for health checks alone.
    timer.unref();
  }

  return {
    async start() {
      if (running) return;
      running = true;
      await checkAll();
      schedule();
    },
    stop() {
      running = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    checkAll,
    isHealthy: (i) => state[i]?.state === "healthy",
    states: () =>
      state.map((s) => ({
        name: s.name,
        state: s.state,
        healthy: s.state === "healthy",
        lastCheck: s.lastCheck === null ? null : new Date(s.lastCheck).toISOString(),
        lastError: s.lastError,
        lastCheckMs: s.lastCheckMs,
        consecutiveSuccesses: s.successes,
        consecutiveFailures: s.failures,
        ...(s.storeId === undefined ? {} : { storeId: s.storeId }),
      })),
  };
}
