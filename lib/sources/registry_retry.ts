/**
 * @module
 * When and how long the registry client (registry_client.ts) waits before trying a GET
 * again, and how it names a URL in messages. Pure, no I/O.
 *
 * - Retried: a connection that fails or drops, no response headers in time, a body that
 *   stalls (no byte for the idle timeout) or ends short, and the statuses 429 and 5xx
 *   that distribution registries and their CDNs send under load (RFC 9110 §15.6: a 5xx
 *   may be temporary; RFC 6585 §4: 429). Only GETs are sent, and GET is idempotent
 *   (RFC 9110 §9.2.2), so repeating one is always safe.
 * - Backoff: exponential from `baseMs`, capped at `maxMs`, with "equal jitter" (half the
 *   delay fixed, half random) so publishers that failed together do not retry together.
 *   A `Retry-After` (RFC 9110 §10.2.3, seconds or an HTTP-date) on 429/503 is honoured
 *   instead, up to `maxRetryAfterMs`; a longer one is not waited for.
 */

export interface RetryPolicy {
  /** Attempts in all, the first included (≥ 1). */
  attempts: number;
  /** Delay before the second attempt (ms); doubled for each further one. */
  baseMs: number;
  /** Largest backoff delay (ms). */
  maxMs: number;
  /** Largest Retry-After waited for (ms). */
  maxRetryAfterMs: number;
}

/**
 * 5 attempts over about 0.5 + 1 + 2 + 4 s of backoff: rides out a registry restart or a
 * load balancer's failover (seconds), not an outage (then the error says so).
 */
export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 5,
  baseMs: 500,
  maxMs: 8_000,
  maxRetryAfterMs: 60_000,
};

/** Statuses worth another attempt (see the module doc). */
export function retryableStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 ||
    status === 504;
}

/** Backoff before attempt `next` (2 for the first retry), with equal jitter. */
export function backoffMs(p: RetryPolicy, next: number, random = Math.random): number {
  const d = Math.min(p.maxMs, p.baseMs * 2 ** Math.max(0, next - 2));
  return Math.round(d / 2 + random() * d / 2);
}

/** A `Retry-After` value in ms (delta-seconds or HTTP-date), or undefined if unusable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const v = header.trim();
  if (/^[0-9]+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
