/**
 * @module
 * A lease lock for object stores that have no conditional writes (OpenStack Swift's s3api
 * answers `If-None-Match: *` with 501; older S3-compatible servers ignore it).
 *
 * The algorithm is Fischer's timed mutual exclusion with the lease object as the shared
 * variable: wait until the lease is free (absent, or expired), write our random token,
 * wait `settleMs`, read it back, and hold the lock only if our token is still there (the
 * last writer wins; every earlier writer sees a foreign token and backs off).
 *
 * Guarantees, under these assumptions:
 * - the store is strongly consistent for a single key (read-after-write and
 *   read-after-overwrite: AWS S3 since 2020, MinIO, a one-replica Swift; a multi-replica
 *   Swift is only eventually consistent for overwrites, so exclusion is best-effort there);
 * - a contender's "read: free" → "write acknowledged" round trip is shorter than
 *   `settleMs` (Fischer's timing bound: a write that lands within settleMs of reading
 *   "free" is seen by every earlier writer's read-back). Each contender measures its own
 *   round trip and does NOT claim the lock when it took more than 80% of `settleMs` (it
 *   backs off; its lease then ages out like a dead holder's, after `ttlMs`). So the bound
 *   is checked locally rather than assumed; `settleMs` must comfortably exceed the store's
 *   GET+PUT latency, or contenders keep withdrawing.
 * then at most one holder is inside the critical section at a time.
 *
 * Why a too-slow claim is left to age out (ttlMs) rather than kept or withdrawn sooner.
 * Let S read "free" at R, its PUT land at W and be acknowledged at A (A - t0 is the round
 * trip measured, t0 <= R). Fischer's bound says W - R < settleMs; when it holds, every
 * contender that read "free" before W has written before W + settleMs, so S's read-back
 * after A + settleMs sees a later token if anyone overwrote S, and no one entered on an
 * earlier write (S overwrote it before its read-back). When S's round trip exceeds the
 * delay, another contender H may have read "free" after R, written, settled, read back its
 * own token and ENTERED before W: S's write then replaces H's lease while H holds the lock.
 * S cannot tell that case from "nobody was there": H's token is gone from the one object
 * both can see, and H's renewal, finding a foreign token, stops writing (it reports the
 * loss at release()). So keeping the claim after a second settle would let S enter beside
 * H; withdrawing it (or rewriting it with a short expiry) would let a third contender
 * enter beside H. Only a fencing token or a conditional write (which Swift's s3api lacks)
 * tells the cases apart; without either the only safe end of such a claim is its expiry.
 * What is safe is making such claims rarer: a "free" read that alone took most of the
 * budget is not claimed on, but read again at once (not writing is always safe).
 *
 * Liveness: the holder renews its lease every `ttlMs / 3` (each renewal changes the
 * document). A waiter takes a lease over when it is expired by the holder's wall clock
 * (`expiresAt + clockSkewMs` in the past: a crashed publisher long ago), or when the
 * waiter has seen the same document unchanged for `ttlMs` on its own monotonic clock
 * (a dead holder, without trusting anyone's wall clock).
 *
 * Limits: there is no fencing token: a holder that stalls for longer than `ttlMs` (a
 * stopped VM, a long GC pause) can be overtaken while it still believes it holds the lock.
 * The holder notices when a renewal finds a foreign token or cannot be written for `ttlMs`;
 * `release()` then throws, so the publisher reports the failure instead of succeeding
 * silently. Publishers must still re-read the document they modify after taking the lock.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import process from "node:process";
import { setTimeout as delay } from "node:timers/promises";

/** The three object operations the lease needs (an S3 store, or a fake in tests). */
export interface LeaseIO {
  /** The object's bytes, or null when it does not exist. */
  get(key: string): Promise<Uint8Array | null>;
  put(key: string, bytes: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface LeaseOptions {
  /** Lease lifetime without renewal (ms). Default 30 s. */
  ttlMs?: number;
  /**
   * Delay between writing our token and reading it back (ms). Default 500: S3's small
   * object GET+PUT takes tens of ms; a store slower than 80% of this never claims.
   */
  settleMs?: number;
  /** Give up waiting for another holder after this long (ms). Default 5 min. */
  timeoutMs?: number;
  /** Tolerated wall-clock difference between publisher hosts (ms). Default 30 s. */
  clockSkewMs?: number;
  /** For messages: where the lock lives (`s3://bucket/prefix`). */
  location?: string;
  /** Stops waiting; a token already written is withdrawn, a lease already won is released. */
  signal?: AbortSignal;
}

/**
 * A "free" read slower than this fraction of the settle delay is not claimed on: the
 * contender reads once more first (see acquireLease).
 */
const SLOW_READ = 0.4;

/** The settle delay when none is configured (ms). */
export const DEFAULT_SETTLE_MS = 500;

/** The lease document stored at the lock key. */
interface Lease {
  token: string;
  owner: string;
  /** Wall-clock ms since the epoch after which the holder no longer claims the lease. */
  expiresAt: number;
  /** Incremented by each renewal, so a live lease always changes within ttl. */
  seq: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
/** Sleeps; an abort rejects with the signal's reason (not node's generic AbortError). */
const sleep = (ms: number, signal?: AbortSignal) =>
  delay(ms, undefined, { signal }).catch((e) => {
    throw signal?.aborted ? signal.reason : e;
  });

/**
 * Takes the lease lock at `key`; resolves to a release function once held.
 *
 * @example
 * ```ts
 * const release = await acquireLease(io, ".locks/catalog.json", { location: "s3://b/p" });
 * try { ...read-modify-write the catalog... } finally { await release(); }
 * ```
 */
export async function acquireLease(
  io: LeaseIO,
  key: string,
  opts: LeaseOptions = {},
): Promise<() => Promise<void>> {
  const ttlMs = opts.ttlMs ?? 30_000;
  const settleMs = opts.settleMs ?? DEFAULT_SETTLE_MS;
  const signal = opts.signal;
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const skewMs = opts.clockSkewMs ?? 30_000;
  const where = `${opts.location ?? "store"}: lock ${JSON.stringify(key)}`;
  const token = randomUUID();
  const owner = `${hostname()} pid ${process.pid}`;
  const deadline = performance.now() + timeoutMs;
  // The document we last saw, and since when (monotonic): for clock-free expiry.
  let seen: { raw: string; since: number } | null = null;
  let backoff = Math.max(20, settleMs / 4);

  // Set after a "free" read too slow to spend the bound's budget on (below): read again.
  let reread = false;
  for (;;) {
    signal?.throwIfAborted();
    const t0 = performance.now();
    const raw = await readRaw(io, key);
    const now = performance.now();
    const readMs = now - t0;
    if (raw !== null && (seen === null || seen.raw !== raw)) seen = { raw, since: now };
    const lease = raw === null ? null : parseLease(raw);
    // An unparseable document is not "free": a mock store (s3rver) serves a half-written
    // object during an overwrite. It ages out like any lease nobody renews.
    const free = raw === null ||
      (lease !== null && lease.expiresAt + skewMs < Date.now()) ||
      (seen !== null && now - seen.since >= ttlMs);
    if (free && !reread && readMs > settleMs * SLOW_READ) {
      // The round trip checked below runs from this read's START: a read that alone used
      // most of the budget (a stalled event loop, a busy store) leaves little for the
      // PUT, and a claim over the bound is never withdrawn (it ages out, ttlMs: every
      // contender waits). Not writing is always safe, and a fresh read is as good as this
      // one; read once more at once, and claim on that one whatever it costs.
      reread = true;
      continue;
    }
    reread = false;
    if (free) {
      const mine: Lease = { token, owner, expiresAt: Date.now() + ttlMs, seq: 0 };
      await io.put(key, enc.encode(JSON.stringify(mine)));
      const roundTrip = performance.now() - t0;
      try {
        await sleep(settleMs, signal);
      } catch (e) {
        await withdraw(io, key, token);
        throw e;
      }
      const back = parseLease(await readRaw(io, key) ?? "");
      if (back?.token === token && roundTrip < settleMs * 0.8) {
        const release = startHolding(io, key, mine, ttlMs, where);
        if (signal?.aborted) {
          await release();
          throw signal.reason;
        }
        return release;
      }
      // Lost to a later writer, or too slow to trust Fischer's bound: wait like everyone.
      // A too-slow claim is NOT withdrawn: its write may have landed over a holder's
      // lease, and deleting it would let a third contender in while that holder works.
      seen = null;
    }
    if (performance.now() > deadline) {
      throw new Error(`${where} is held by ${lease?.owner ?? "?"} (waited ${timeoutMs} ms)`);
    }
    await sleep(backoff * (0.5 + Math.random()), signal);
    backoff = Math.min(backoff * 2, Math.max(settleMs, ttlMs / 6));
  }
}

/** Renews the lease while held; returns the release function. */
function startHolding(
  io: LeaseIO,
  key: string,
  lease: Lease,
  ttlMs: number,
  where: string,
): () => Promise<void> {
  let lost: string | null = null;
  let lastRenewed = performance.now();
  let stopped = false;
  const renew = async () => {
    if (stopped || lost) return;
    try {
      const cur = parseLease(await readRaw(io, key) ?? "");
      if (stopped) return;
      if (cur?.token !== lease.token) {
        lost = `taken over by ${cur?.owner ?? "nobody (lease deleted)"}`;
        return;
      }
      lease = { ...lease, expiresAt: Date.now() + ttlMs, seq: lease.seq + 1 };
      await io.put(key, enc.encode(JSON.stringify(lease)));
      lastRenewed = performance.now();
    } catch (e) {
      if (performance.now() - lastRenewed > ttlMs) {
        lost = `not renewed for ${ttlMs} ms (${(e as Error).message})`;
      }
    }
  };
  let pending: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    pending = pending.then(renew);
  }, ttlMs / 3);
  return async function release() {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    await pending;
    if (!lost) {
      const cur = parseLease(await readRaw(io, key) ?? "");
      if (cur?.token === lease.token) await io.delete(key);
      else lost = `taken over by ${cur?.owner ?? "nobody (lease deleted)"}`;
    }
    if (lost) throw new Error(`${where} was lost while held: ${lost}`);
  };
}

/** Deletes the lease if it still holds our token (best effort: an abandoned claim). */
async function withdraw(io: LeaseIO, key: string, token: string): Promise<void> {
  try {
    if (parseLease(await readRaw(io, key) ?? "")?.token === token) await io.delete(key);
  } catch {
    // Left for the ttl to expire, like a crashed contender's.
  }
}

async function readRaw(io: LeaseIO, key: string): Promise<string | null> {
  const bytes = await io.get(key);
  return bytes === null ? null : dec.decode(bytes);
}

function parseLease(raw: string): Lease | null {
  try {
    const v = JSON.parse(raw);
    if (
      typeof v?.token === "string" && typeof v.expiresAt === "number" &&
      typeof v.seq === "number"
    ) {
      return { token: v.token, owner: String(v.owner ?? "?"), expiresAt: v.expiresAt, seq: v.seq };
    }
  } catch {
    // fall through: not a lease
  }
  return null;
}
