/**
 * @module
 * One health probe of an origin: GET its copy of the layout marker (`static-registry.json`,
 * docs/LAYOUT.md §"Marker") and judge it. An origin is fit for redirects only when it
 * answers, serves a marker the server's own rules accept (lib/layout/rules.ts), and that
 * marker names the store this server serves (`id`): an origin pointing at another store
 * answers 200 to every probe and then 404 to the blobs it is sent clients for.
 *
 * Cheap by construction: the GET is conditional (`If-None-Match` with the marker's last
 * ETag, RFC 9110 §13.1.2), so a steady origin answers 304 with no body, and a body is read
 * up to {@link MAX_MARKER_BYTES} only (the marker is ~100 bytes; a misconfigured origin
 * could answer with anything).
 *
 * Which identities match (the store's, as the server read it, against the origin's):
 * - the store has no id (a store published before identities, or its index is not loaded
 *   yet): any valid marker does, as before identities — there is nothing to compare;
 * - the store has id A: only a marker with id A. A marker without an id is refused too: it
 *   is either another store published before identities, or a copy of this one taken
 *   before its id was written — and the id is written by the first publish after an
 *   upgrade, so such a copy lacks at least that publish's blobs. Refusing costs a 503 or
 *   the next origin; accepting costs 404s for blobs the client was promised.
 */
import { MARKER_KEY } from "../layout/keys.ts";
import { decodeDocument, DocumentError } from "../layout/documents.ts";
import { validateMarker } from "../layout/rules.ts";
import { userAgent } from "../version.ts";
import { readCapped } from "../capped_body.ts";

/** Marker bodies larger than this are refused unread (the real one is ~100 bytes). */
export const MAX_MARKER_BYTES = 64 * 1024;

export type FetchFn = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** What the last good read of an origin's marker said, for the next conditional GET. */
export interface CanaryMemo {
  etag: string;
  /** The marker's store id; null when it has none. */
  storeId: string | null;
}

/** The outcome of one probe. */
export interface CanaryResult {
  /** Null when the origin may receive redirects, else why not (for /readyz and logs). */
  error: string | null;
  /**
   * The store id the origin serves: a string, null for a marker without one, undefined
   * when the probe did not get as far as a marker (unreachable, HTTP error).
   */
  storeId?: string | null;
  /** Set when the failure is the identity (the origin answers, but for another store). */
  identity?: boolean;
  /** For the next probe's If-None-Match (kept from `memo` on a 304). */
  memo?: CanaryMemo;
}

/**
 * GETs `url` (the origin's marker) and judges it against `expected` (the served store's
 * id, or undefined when it has none). Never throws.
 */
export async function probeCanary(
  fetchFn: FetchFn,
  url: string,
  opts: { timeoutMs: number; expected: string | undefined; memo?: CanaryMemo },
): Promise<CanaryResult> {
  const headers: Record<string, string> = { "user-agent": userAgent() };
  if (opts.memo) headers["if-none-match"] = opts.memo.etag;
  let marker: { storeId: string | null; memo?: CanaryMemo };
  try {
    // The signal also bounds reading the body (fetch aborts the stream with it).
    const res = await fetchFn(url, {
      method: "GET",
      headers,
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    if (res.status === 304 && opts.memo) {
      await res.body?.cancel();
      marker = { storeId: opts.memo.storeId, memo: opts.memo };
    } else if (res.status >= 200 && res.status < 300) {
      marker = await readMarker(res);
    } else {
      await res.body?.cancel();
      return { error: `GET canary: HTTP ${res.status}` };
    }
  } catch (e) {
    const err = e as Error;
    if (err?.name === "TimeoutError") {
      return { error: `GET canary: timed out after ${opts.timeoutMs} ms` };
    }
    return { error: `GET canary: ${err?.message ?? String(e)}` };
  }
  const problem = identityProblem(opts.expected, marker.storeId);
  return {
    error: problem,
    storeId: marker.storeId,
    ...(problem ? { identity: true } : {}),
    ...(marker.memo ? { memo: marker.memo } : {}),
  };
}

/**
 * Why an origin serving store `served` does not serve store `expected`, or null when it
 * does (see the module doc for the rules).
 */
export function identityProblem(
  expected: string | undefined,
  served: string | null,
): string | null {
  if (expected === undefined || served === expected) return null;
  if (served === null) {
    return `serves a store without an id, not ${expected} (an old copy of it, or another store)`;
  }
  return `serves store ${served}, not ${expected}`;
}

/** The marker in a 2xx response, read up to MAX_MARKER_BYTES; throws saying what is wrong. */
async function readMarker(res: Response): Promise<{ storeId: string | null; memo?: CanaryMemo }> {
  const length = Number(res.headers.get("content-length") ?? NaN);
  if (length > MAX_MARKER_BYTES) {
    await res.body?.cancel();
    throw new Error(`the marker is ${length} bytes, more than ${MAX_MARKER_BYTES}`);
  }
  const bytes = await readCapped(
    res.body,
    MAX_MARKER_BYTES,
    () => new Error(`the marker is more than ${MAX_MARKER_BYTES} bytes`),
  );
  let storeId: string | null;
  try {
    storeId = decodeDocument(MARKER_KEY, bytes, validateMarker).id ?? null;
  } catch (e) {
    if (e instanceof DocumentError) throw new Error(`not a static-registry marker: ${e.message}`);
    throw e;
  }
  const etag = res.headers.get("etag");
  return { storeId, ...(etag ? { memo: { etag, storeId } } : {}) };
}
