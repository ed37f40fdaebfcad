/**
 * @module
 * A registry blob downloaded into a file: the body goes from the HTTP client to the file
 * natively where the runtime can (lib/runtime/runtime.ts nativeBodyToFile; no JavaScript per chunk, issue
 * 13), else through a reader loop. The promises of the streaming path hold here too:
 *
 * - **Bounded**: the native write is used only for a body whose Content-Length is what the
 *   caller expects, so HTTP framing (RFC 9112 §6.2) stops it there; a body without one is
 *   streamed and refused as soon as it exceeds the size. Nothing is held in memory.
 * - **Idle timeout**: the file is watched; when it has not grown for `idleMs` the request
 *   is aborted (its body with it) and asked for again from the first byte not yet written
 *   (`Range: bytes=<n>-`, RFC 9110 §14.2), as resumable_body.ts does for streams: a 206
 *   starting there is appended, a 200 (Range ignored) rewrites the file from its start.
 *   A dropped connection or a body that ends short is resumed the same way, `retry.attempts`
 *   times in all; the error after the last names the URL, the bytes and the attempts.
 * - **Verified by the caller**: the file's size and digest are checked before it is
 *   committed (lib/publish/copy.ts), so a wrong body never lands.
 */
import { closeSync, openSync, statSync } from "node:fs";
import { writeBatched } from "../store/dir.ts";
import { nativeBodyToFile } from "../runtime/runtime.ts";
import { backoffMs } from "./registry_retry.ts";
import type { RawResponse } from "./registry_client.ts";

export interface DownloadOptions {
  /** Expected size in bytes (the descriptor's). */
  size: number;
  /** Aborts the download; the error is the signal's reason. */
  signal?: AbortSignal;
  /** Told how many more bytes reached the file (progress), at most every 250 ms. */
  onBytes?: (n: number) => void;
}

/**
 * Writes the body of `raw` (a 200 whose headers the caller checked, requested with a
 * signal `ctl` aborts: {@link linked}) into the existing file `path`, resuming after
 * failures; see the module doc.
 */
export async function downloadToFile(
  raw: RawResponse,
  ctl: AbortController,
  path: string,
  o: DownloadOptions,
): Promise<void> {
  let res = raw.response;
  let append = false;
  let have = 0;
  for (let attempt = 1;; attempt++) {
    let why: string | undefined;
    // The streamed path counts what it received (its batches reach the file later).
    const streamed = { bytes: -1 };
    const measure = () => streamed.bytes >= 0 ? streamed.bytes : sizeOf(path);
    const watch = new GrowthWatch(measure, raw.idleMs, o.onBytes, () => {
      ctl.abort(new Error(`no data for ${raw.idleMs} ms`));
    });
    try {
      await writeBody(res, path, append, have, o.size, streamed);
    } catch (e) {
      if (o.signal?.aborted) throw o.signal.reason;
      if (e instanceof OverrunError) throw new Error(`${raw.what}: ${e.message}`);
      why = ctl.signal.aborted
        ? String(ctl.signal.reason?.message ?? ctl.signal.reason)
        : `connection dropped (${(e as Error)?.message ?? e})`;
    } finally {
      watch.stop();
    }
    have = statSync(path).size;
    if (why === undefined) {
      if (have === o.size) return;
      if (have > o.size) {
        throw new Error(`${raw.what}: sent ${have} bytes, more than the expected ${o.size}`);
      }
      why = "connection closed early";
    }
    if (attempt >= raw.retry.attempts) {
      throw new Error(
        `${raw.what}: ${why} after ${have} of ${o.size} bytes ` +
          `(attempt ${attempt} of ${raw.retry.attempts})`,
      );
    }
    await new Promise((r) => setTimeout(r, backoffMs(raw.retry, attempt + 1)));
    o.signal?.throwIfAborted();
    const next = linked(o.signal);
    ctl = next.ctl;
    res = await raw.reopen(have, next.signal);
    const start = /^bytes ([0-9]+)-/.exec(res.headers.get("content-range") ?? "")?.[1];
    if (res.status === 206 && Number(start) === have && res.body) {
      append = true;
    } else if (res.status === 200 && res.body) {
      append = false; // Range ignored: the whole body again, over the file
      have = 0;
    } else {
      await res.body?.cancel();
      throw new Error(`${raw.what}: resuming at byte ${have} (${why}): HTTP ${res.status}`);
    }
  }
}

/**
 * A controller for one request (the idle watch aborts it) and the signal to send it with:
 * aborted by the controller or by the caller's `signal`. AbortSignal.any rather than a
 * listener on `signal`: a sync of thousands of blobs shares one caller signal, and
 * listeners added per request would pile up on it.
 */
export function linked(signal?: AbortSignal): { ctl: AbortController; signal: AbortSignal } {
  const ctl = new AbortController();
  return { ctl, signal: signal ? AbortSignal.any([ctl.signal, signal]) : ctl.signal };
}

/** The body sends more than the expected size (never retried). */
class OverrunError extends Error {}

/**
 * One response's body into the file (at its end when `append`, `have` bytes being there).
 * Natively when its Content-Length is exactly what is left; else streamed, with the size
 * checked per chunk.
 */
async function writeBody(
  res: Response,
  path: string,
  append: boolean,
  have: number,
  size: number,
  streamed: { bytes: number },
): Promise<void> {
  const header = res.headers.get("content-length");
  // Natively only over a fresh file: Bun 1.4.4's Bun.write into an fd opened for append
  // sometimes wrote part of a resumed (206) body twice (seen in
  // tests/sync/sync_auth_faults_test.ts: 20000 + 280382 bytes became 560764), so a resume
  // streams through the reader loop, whose every write is ours.
  if (nativeBodyToFile && !append && header !== null && Number(header) === size - have) {
    return await nativeBodyToFile(res, path);
  }
  // ~1 MiB synchronous writev batches, as DirStore.write does; what was received before a
  // failure is written too: the resume starts after it.
  const fd = openSync(path, append ? "a" : "w");
  try {
    let n = have;
    streamed.bytes = n;
    await writeBatched(fd, res.body!, (chunk) => {
      if (n + chunk.byteLength > size) {
        throw new OverrunError(`sends more than the expected ${size} bytes`);
      }
      n += chunk.byteLength;
      streamed.bytes = n;
    });
  } finally {
    closeSync(fd);
  }
}

/** A file's size, 0 when it cannot be read. */
function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Watches a transfer grow (`measure()`: bytes so far): reports growth to `onBytes`, and
 * calls `onIdle` once when it has not grown for `idleMs`. One timer per transfer, one
 * measure (a stat(2) for a native write) per tick, every 250 ms at most.
 */
class GrowthWatch {
  readonly #measure: () => number;
  readonly #idleMs: number;
  readonly #onBytes?: (n: number) => void;
  readonly #timer: ReturnType<typeof setInterval>;
  #size: number;
  #grewAt = performance.now();

  constructor(
    measure: () => number,
    idleMs: number,
    onBytes: ((n: number) => void) | undefined,
    onIdle: () => void,
  ) {
    this.#measure = measure;
    this.#idleMs = idleMs;
    this.#onBytes = onBytes;
    this.#size = measure();
    this.#timer = setInterval(() => {
      if (this.#tick() || performance.now() - this.#grewAt < this.#idleMs) return;
      clearInterval(this.#timer);
      onIdle();
    }, Math.max(5, Math.min(250, idleMs / 4)));
  }

  /** Whether the transfer grew since the last tick (reported). */
  #tick(): boolean {
    const now = this.#measure();
    if (now === this.#size) return false;
    if (now > this.#size) this.#onBytes?.(now - this.#size);
    this.#size = now;
    this.#grewAt = performance.now();
    return true;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#tick();
  }
}
