/**
 * @module
 * `GET|HEAD /v2/<name>/blobs/<digest>` (distribution-spec §"Pulling blobs", §"Checking if
 * content exists in the registry"). A blob is served only if this repository references it
 * (a config/layer of one of its manifests, or one of its manifests): clients HEAD blobs
 * before a push and trust a 200, so other repositories' blobs are BLOB_UNKNOWN.
 * GET redirects (307) to an origin, or the server streams the bytes from the store itself:
 * with no origins, for clients a `routing` rule says to stream to, and as the `fallback`
 * when every origin is down (lib/origins/routing.ts decides; `origins.egress`).
 *
 * A stream from S3 or an HTTP store is piped through, never buffered: the upstream read
 * is cancelled when the client goes away (the Response body's cancel reaches the store's
 * stream), and a body that ends short of, or runs past, the length we announced errors
 * the response instead of passing as a complete blob.
 */
import { errors, OciError } from "../oci/errors.ts";
import { parseDigest } from "../oci/digest.ts";
import { blobKey } from "../layout/layout.ts";
import type { Logger } from "../log.ts";
import type { StreamStore } from "../store/store.ts";
import type { RequestContext } from "./context.ts";
import { API_VERSION, API_VERSION_HEADER, empty } from "./http.ts";
import { withRepo } from "./lookup.ts";
import type { RepoView } from "../index/registry.ts";
import { ifRangeHolds, parseRange } from "./range.ts";

const OCTETS = "application/octet-stream";

/**
 * `body` passed through, erroring when it does not carry exactly `length` bytes: an
 * upstream cut short must abort the response, not end it as if complete. The bytes sent
 * are tallied in `c.piped` until the body ends, fails or is cancelled (the client went
 * away), for the access log and the bytes metric (lib/server/observe.ts).
 */
function exactly(
  c: RequestContext,
  body: ReadableStream<Uint8Array>,
  length: number,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const ended = Promise.withResolvers<void>();
  const tally = { bytes: 0, ended: ended.promise };
  c.piped = tally;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        ended.resolve();
        throw e;
      }
      if (chunk.done) {
        ended.resolve();
        if (tally.bytes !== length) {
          throw new Error(`the store sent ${tally.bytes} of ${length} bytes`);
        }
        controller.close();
        return;
      }
      if (tally.bytes + chunk.value.byteLength > length) {
        ended.resolve();
        await reader.cancel();
        throw new Error(`the store sent more than ${length} bytes`);
      }
      tally.bytes += chunk.value.byteLength;
      controller.enqueue(chunk.value);
    },
    cancel(reason) {
      ended.resolve();
      return reader.cancel(reason);
    },
  });
}

/**
 * The body of a 200. Bun answers a Range request ITSELF when a 200's body is file-backed
 * (a file Blob or its stream), parsing the raw Range header its own way: a Range we chose
 * to ignore (invalid, or several Range headers; RFC 9110 §14.2 allows ignoring it) came
 * back as Bun's 206, or as a 416 without the spec's error body. So when the request has a
 * Range header and we send the whole blob, the file goes out as a plain stream (chunked:
 * rare, real clients send ranges we honour).
 */
function wholeBody(
  req: Request,
  body: ReadableStream<Uint8Array> | Blob,
): ReadableStream<Uint8Array> | Blob {
  if (!(body instanceof Blob) || !req.headers.has("range")) return body;
  return body.stream().pipeThrough(new TransformStream<Uint8Array, Uint8Array>());
}

/** Builds the blobs handler: one for every store; the request's store is `c.mount`. */
export function blobsRoute(log: Logger) {
  /** 307 to the origin's URL (distribution-spec §"Pulling blobs": a redirect is allowed). */
  function redirect(location: string, digest: string): Response {
    return new Response(null, {
      status: 307,
      headers: {
        [API_VERSION_HEADER]: API_VERSION,
        Location: location,
        "Docker-Content-Digest": digest,
      },
    });
  }

  /** Sends the bytes from the store itself (no origins, a stream rule, the fallback). */
  async function stream(
    c: RequestContext,
    store: StreamStore,
    digest: string,
    size: number,
  ): Promise<Response> {
    const req = c.req;
    const etag = `"${digest}"`;
    // RFC 9110 §13.1.5: an If-Range that does not hold means Range is ignored (200, whole
    // blob, never 416); the file still goes out as a stream (`wholeBody`: Range present).
    const rangeHeader = ifRangeHolds(req.headers.get("if-range"), etag)
      ? req.headers.get("range")
      : null;
    const range = parseRange(rangeHeader, size);
    // RFC 9110 §15.5.17: the 416 carries `Content-Range: bytes */size` (the error has it).
    if (range === "unsatisfiable") throw errors.rangeInvalid(rangeHeader ?? "", size);
    const opened = await store.open(blobKey(digest), range);
    if (!opened) {
      log.warn({ name: c.name, digest }, "the index lists a blob the store does not have");
      throw errors.blobUnknown(digest);
    }
    if (opened.size !== size) {
      if (!(opened.body instanceof Blob)) await opened.body.cancel();
      throw new OciError(
        "INTERNAL",
        `blob ${digest} in the store has ${opened.size} bytes, the index says ${size}`,
        { digest },
      );
    }
    const headers: Record<string, string> = {
      [API_VERSION_HEADER]: API_VERSION,
      "Content-Type": OCTETS,
      "Docker-Content-Digest": digest,
      "Accept-Ranges": "bytes",
      ETag: etag,
    };
    const length = range ? range.end - range.start + 1 : size;
    // A file Blob has its size from the stat; a piped stream is counted on the way.
    const body = opened.body instanceof Blob ? opened.body : exactly(c, opened.body, length);
    headers["Content-Length"] = String(length);
    if (!range) return new Response(wholeBody(req, body), { status: 200, headers });
    headers["Content-Range"] = `bytes ${range.start}-${range.end}/${size}`;
    return new Response(body, { status: 206, headers });
  }

  // Not async: when origins.locate() answers synchronously the 307 is built without a
  // promise, which is most of the cost of the most frequent request of a pull.
  return function blobs(c: RequestContext): Response | Promise<Response> {
    return withRepo(c, (repo) => blob(c, repo));
  };

  function blob(c: RequestContext, repo: RepoView): Response | Promise<Response> {
    const ref = c.ref;
    // Keys of the index were validated as digests at load: look up first, and parse only
    // to tell a malformed digest (400) from an unknown one (404).
    const size = repo.referencedSize(ref);
    if (size === undefined) throw errors.blobUnknown(parseDigest(ref).digest);
    const digest = ref;
    if (c.req.method === "HEAD") {
      return empty(200, {
        "Content-Type": OCTETS,
        "Content-Length": String(size),
        "Docker-Content-Digest": digest,
        "Accept-Ranges": "bytes",
        ETag: `"${digest}"`,
      });
    }
    const { origins, stream: store } = c.mount;
    if (!origins) {
      if (!store) throw errors.blobUnknown(digest);
      return stream(c, store, digest, size);
    }
    const egress = origins.egress?.(c);
    if (egress !== undefined && "stream" in egress) {
      if (!store) {
        throw errors.unavailable("this blob is to be streamed, and the store cannot stream");
      }
      return stream(c, store, digest, size);
    }
    const location = origins.locate(digest, size, egress?.redirect, c);
    return typeof location === "string"
      ? redirect(location, digest)
      : location.then((l) => redirect(l, digest));
  }
}
