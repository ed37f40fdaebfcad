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
          r = await readWithin(reader, o.idleMs);
        } catch (e) {
          await resume((e as Error).message);
          continue;
        }
        if (r.done) {
          if (total !== undefined && received < total) {
            await resume("connection closed early");
            continue;
          }
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
      return reader.cancel(reason);
    },
  });
}

/** One read, or an error when nothing arrives within `ms`. */
async function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  ms: number,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no data for ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([reader.read(), stalled]);
  } catch (e) {
    const msg = (e as Error)?.message ?? String(e);
    throw new Error(msg.startsWith("no data") ? msg : `connection dropped (${msg})`);
  } finally {
    clearTimeout(timer);
  }
}
