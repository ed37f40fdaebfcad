/**
 * @module
 * Copies one blob from a source into a store, verifying it on the way. The verification
 * is a stream between source and store ({@link verifiedBody}) that errors BEFORE it ends when
 * the size or digest differs from the descriptor (image-spec §"Descriptors": a consumer
 * MUST verify content against the digest), so an atomic store write never commits it.
 *
 * The publisher's half of running beside a garbage collector is in gc_guard.ts.
 */
import type { Descriptor } from "../oci/mediatypes.ts";
import { DigestVerifier } from "../oci/digest.ts";
import pMap from "p-map";
import { blobKey, CACHE_IMMUTABLE } from "../layout/keys.ts";
import type { WriteStore } from "../store/store.ts";
import type { Source } from "../sources/source.ts";
import { abortable } from "./interrupt.ts";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { nativeHasher } from "../runtime/runtime.ts";

/**
 * `body` checked against descriptor `d`; `what` names the object in errors ("blob"),
 * `onBytes` sees every chunk's length (progress). A size overrun errors at once (rather
 * than copying an unbounded stream to the end); a short body or a wrong digest errors the
 * stream instead of closing it, so the store's atomic write never commits it. When
 * `signal` aborts, the source body is cancelled and the stream errors with its reason.
 *
 * One pull-driven stream rather than a `pipeThrough(TransformStream)`: that is two
 * queued streams and a pipe loop (JS in bun), several promise hops per chunk; here a
 * chunk costs one read (issue 13: publish docker:// speed).
 */
export function verifiedBody(
  body: ReadableStream<Uint8Array>,
  d: Descriptor,
  what: string,
  onBytes: (n: number) => void = () => {},
  signal?: AbortSignal,
): ReadableStream<Uint8Array> {
  const v = new DigestVerifier(d.digest, d.size, nativeHasher);
  const reader = body.getReader();
  let onAbort: (() => void) | undefined;
  const unlisten = () => onAbort && signal?.removeEventListener("abort", onAbort);
  return new ReadableStream<Uint8Array>({
    start(ctl) {
      if (!signal) return;
      onAbort = () => {
        try {
          ctl.error(signal.reason);
        } catch { /* already closed or errored */ }
        reader.cancel(signal.reason).catch(() => {});
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    },
    async pull(ctl) {
      try {
        const r = await reader.read();
        signal?.throwIfAborted();
        if (r.done) {
          unlisten();
          v.check(what); // throws → the stream errors instead of closing
          ctl.close();
          return;
        }
        const chunk = r.value;
        v.update(chunk);
        if (v.size > d.size) {
          throw new Error(
            `${what} ${d.digest}: source has more than the descriptor size ${d.size} bytes`,
          );
        }
        onBytes(chunk.byteLength);
        ctl.enqueue(chunk);
      } catch (e) {
        unlisten();
        reader.cancel(e).catch(() => {});
        throw e;
      }
    },
    cancel(reason) {
      unlisten();
      return reader.cancel(reason);
    },
  });
}

/**
 * Streams blob `d` from `source` into `store` at blobKey(d.digest), verified. When
 * `signal` aborts, the copy stops at once: the stream errors with the signal's reason, so
 * the store's atomic write discards what it had (and the source body is cancelled).
 *
 * `gate`: nothing is committed to the store before it resolves, and the copy fails with
 * its error when it rejects (publish's checks, which run while the first blobs download).
 * A download into a temp file waits for it only before the commit; a streamed write,
 * which the store may make visible as it goes (S3), waits for it before it starts.
 */
export async function copyBlob(
  source: Source,
  store: WriteStore,
  d: Descriptor,
  onBytes?: (n: number) => void,
  signal?: AbortSignal,
  gate?: Promise<unknown>,
): Promise<void> {
  if (source.download && store.writeFile) {
    // The body goes to the temp file natively (no JavaScript per chunk, issue 13), so it
    // is verified once written, before the store commits it: the file is read back from
    // the page cache, which costs a tenth of what the streaming path's chunks did.
    const download = source.download.bind(source);
    return await store.writeFile(blobKey(d.digest), async (path) => {
      await download(d, path, { signal, onBytes });
      await verifyFile(path, d, "blob", signal);
      if (gate) await abortable(gate, signal);
    }, { contentType: "application/octet-stream", cacheControl: CACHE_IMMUTABLE, size: d.size });
  }
  if (gate) await abortable(gate, signal);
  const opening = source.open(d.digest);
  let blob;
  try {
    blob = await abortable(opening, signal);
  } catch (e) {
    opening.then((b) => b.body.cancel().catch(() => {}), () => {});
    throw e;
  }
  const { body, size } = blob;
  if (size !== d.size) {
    await body.cancel().catch(() => {});
    throw new Error(
      `blob ${d.digest}: ${source.description} holds ${size} bytes, the descriptor says ${d.size}`,
    );
  }
  const verified = verifiedBody(body, d, "blob", onBytes, signal);
  await store.write(blobKey(d.digest), verified, {
    contentType: "application/octet-stream",
    cacheControl: CACHE_IMMUTABLE,
    size: d.size,
  });
}

/** Bytes read per read(2) when verifying a file: hashing is as fast at 256 KiB to 4 MiB. */
const VERIFY_CHUNK = 1 << 20;
/**
 * The read buffer of every verification, made once: a fresh 1 MiB buffer is zeroed and
 * faulted in page by page (memset and page faults were ~4 % of a `publish docker://`'s
 * CPU in perf, issue 13). One is enough although verifications interleave: each read
 * into it is hashed before the next await.
 */
let readBuffer: Uint8Array | undefined;

/**
 * Throws unless file `path` holds exactly `d` (size, then digest; the messages of
 * {@link verifiedBody}). Read in 1 MiB synchronous reads into one buffer (an async read
 * is a thread-pool hop each; the stream of `Bun.file()` cost 4× the CPU; `Bun.mmap` and
 * hashing the mapping cost twice the CPU of these reads), hashed with the runtime's native
 * hasher (a third of node:crypto's CPU on Bun), yielding to
 * the event loop every 8 MiB so other transfers keep moving. Bounded memory whatever the
 * size of the file.
 */
export async function verifyFile(
  path: string,
  d: Descriptor,
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    if (size !== d.size) {
      throw new Error(
        size > d.size
          ? `${what} ${d.digest}: source has more than the descriptor size ${d.size} bytes`
          : `${what} ${d.digest}: size ${size} does not match descriptor size ${d.size}`,
      );
    }
    const v = new DigestVerifier(d.digest, d.size, nativeHasher);
    const buf = readBuffer ??= new Uint8Array(VERIFY_CHUNK);
    for (let at = 0, since = 0; at < size;) {
      const n = readSync(fd, buf, 0, buf.byteLength, at);
      if (n <= 0) break; // shrank meanwhile: the size check below says so
      v.update(buf.subarray(0, n));
      at += n;
      since += n;
      if (since >= 8 * VERIFY_CHUNK) {
        since = 0;
        await new Promise((r) => setTimeout(r, 0));
        signal?.throwIfAborted();
      }
    }
    v.check(what);
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs `fn` over `items` with at most `n` in flight (p-map). On the first error no new item
 * is started, the ones in flight are awaited (nothing keeps writing after we return), and
 * the first error is thrown. p-map's own `stopOnError` rejects at once, without waiting
 * for the writes in flight, hence the failure flag.
 */
export async function eachLimit<T>(
  items: readonly T[],
  n: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let failure: { error: unknown } | undefined;
  await pMap(items, async (item) => {
    if (failure) return;
    try {
      await fn(item);
    } catch (e) {
      failure ??= { error: e };
    }
  }, { concurrency: n });
  if (failure) throw failure.error;
}

/** Whether the store holds `d` already, with its size (content-addressed: then it is `d`). */
export async function present(store: WriteStore, d: Descriptor): Promise<boolean> {
  const meta = await store.stat(blobKey(d.digest));
  return meta !== null && meta.size === d.size;
}

/** Told which objects were found present and which written (gc_guard.ts PresenceLedger). */
export interface PresenceRecorder {
  skipped(d: Descriptor): void;
  wrote(d: Descriptor): void;
}

/** A manifest as publish holds it: its descriptor, exact bytes and media type. */
export type ManifestToWrite = {
  descriptor: Descriptor;
  bytes: Uint8Array;
  info: { mediaType: string };
};

/**
 * Stores the manifests of an image the store lacks, in the order given (children before
 * parents, as collect() lists them: a parent is never stored before what it references).
 * Returns how many were written. `signal` stops it between two writes. `ledger` records
 * which were skipped as present and which written (for {@link guardCommit}).
 */
export async function writeManifests(
  store: WriteStore,
  manifests: readonly ManifestToWrite[],
  signal?: AbortSignal,
  ledger?: PresenceRecorder,
): Promise<number> {
  let written = 0;
  for (const m of manifests) {
    signal?.throwIfAborted();
    if (await present(store, m.descriptor)) {
      ledger?.skipped(m.descriptor);
      continue;
    }
    await writeManifest(store, m);
    ledger?.wrote(m.descriptor);
    written++;
  }
  return written;
}

/** Writes one manifest at its content address (also gc_guard.ts, to restore one). */
export function writeManifest(store: WriteStore, m: ManifestToWrite): Promise<void> {
  return store.write(blobKey(m.descriptor.digest), m.bytes, {
    contentType: m.info.mediaType,
    cacheControl: CACHE_IMMUTABLE,
    size: m.bytes.byteLength,
  });
}
