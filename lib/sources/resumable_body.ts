/**
 * @module
 * A response body that survives a stalled or dropped connection: each read waits at most
 * `idleMs` for the next bytes; when it times out, errors, or the body ends before its
 * Content-Length, the body is asked for again from the first byte not yet delivered
 * (`reopen(received)`: a GET with `Range: bytes=<received>-`, RFC 9110 §14.2). A 206
 * whose Content-Range starts there continues the stream; a 200 (Range ignored) is read
 * from its start and the bytes already delivered are skipped. The consumer sees one
 * uninterrupted stream, so a 2 GB layer that stalls at 90 % is not fetched again whole.
 *
 * Only content-addressed or otherwise stable bodies may be resumed this way (blobs and
 * manifests by digest; a manifest by tag that moved in between fails its digest check).
 */
import type { RetryPolicy } from "./registry_retry.ts";
import { backoffMs } from "./registry_retry.ts";

export interface ResumeOptions {
  /** Longest wait for the next bytes (ms). */
  idleMs: number;
  retry: RetryPolicy;
  /** For messages: `GET http://host/v2/…` (redacted). */
  what: string;
  /** GETs the body again from byte `from`; the response is checked here. */
  reopen(from: number): Promise<Response>;
}

/** The stream; `first` is the 200 response whose body it starts with. */
export function resumableBody(first: Response, o: ResumeOptions): ReadableStream<Uint8Array> {
  const header = first.headers.get("content-length");
  const total = header === null ? undefined : Number(header);
  let reader = first.body!.getReader();
  let received = 0;
  let skip = 0;
  let attempt = 1;
  const idle = new IdleReads(o.idleMs);

  /** Replaces the reader after a failure, or throws once the attempts are spent. */
  const resume = async (why: string) => {
    reader.cancel().catch(() => {});
    if (attempt >= o.retry.attempts) {
      throw new Error(
        `${o.what}: ${why} after ${received}${total === undefined ? "" : ` of ${total}`} ` +
          `bytes (attempt ${attempt} of ${o.retry.attempts})`,
      );
    }
    attempt++;
    await new Promise((r) => setTimeout(r, backoffMs(o.retry, attempt)));
    const res = await o.reopen(received);
    const start = /^bytes ([0-9]+)-/.exec(res.headers.get("content-range") ?? "")?.[1];
    if (res.status === 206 && Number(start) === received && res.body) {
      skip = 0;
    } else if (res.status === 200 && res.body) {
      skip = received;
    } else {
      await res.body?.cancel();
      throw new Error(`${o.what}: resuming at byte ${received} (${why}): HTTP ${res.status}`);
    }
    reader = res.body.getReader();
  };

  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      for (;;) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await idle.read(reader);
        } catch (e) {
          await resume((e as Error).message).catch((e) => {
            idle.stop();
            throw e;
          });
          continue;
        }
        if (r.done) {
          if (total !== undefined && received < total) {
            await resume("connection closed early").catch((e) => {
              idle.stop();
              throw e;
            });
            continue;
          }
          idle.stop();
          ctl.close();
          return;
        }
        let chunk = r.value;
        if (skip > 0) {
          const n = Math.min(skip, chunk.byteLength);
          skip -= n;
          chunk = chunk.subarray(n);
          if (chunk.byteLength === 0) continue;
        }
        received += chunk.byteLength;
        ctl.enqueue(chunk);
        return;
      }
    },
    cancel(reason) {
      idle.stop();
      return reader.cancel(reason);
    },
  });
}

/**
 * Reads with an idle limit: a read that gets nothing for `ms` rejects. One timer per body,
 * not one per read: a 100 MB blob arrives in ~1600 chunks, and arming and clearing a timer
 * (plus a Promise.race) for each was a measurable share of a publish's CPU (bun). The
 * timer fires at most every `ms` and re-arms itself for the read in progress.
 */
class IdleReads {
  readonly #ms: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The read in progress: when it started and how to fail it. */
  #pending: { since: number; reject: (e: Error) => void } | undefined;

  constructor(ms: number) {
    this.#ms = ms;
  }

  read(
    reader: ReadableStreamDefaultReader<Uint8Array>,
  ): Promise<ReadableStreamReadResult<Uint8Array>> {
    return new Promise((resolve, reject) => {
      const pending = { since: performance.now(), reject };
      this.#pending = pending;
      this.#arm(this.#ms);
      reader.read().then((r) => {
        if (this.#pending === pending) this.#pending = undefined;
        resolve(r);
      }, (e) => {
        if (this.#pending === pending) this.#pending = undefined;
        const msg = (e as Error)?.message ?? String(e);
        reject(new Error(`connection dropped (${msg})`));
      });
    });
  }

  /** Stops the timer (the body ended, failed or was cancelled). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = undefined;
  }

  #arm(ms: number): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => this.#check(), ms);
  }

  #check(): void {
    this.#timer = undefined;
    const p = this.#pending;
    if (!p) return; // between reads: the next read arms it again
    const waited = performance.now() - p.since;
    if (waited >= this.#ms) {
      this.#pending = undefined;
      p.reject(new Error(`no data for ${this.#ms} ms`));
    } else {
      this.#arm(this.#ms - waited);
    }
  }
}
