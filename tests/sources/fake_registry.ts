/**
 * @module
 * A tiny pull-only registry over Deno.serve on 127.0.0.1 for the `docker://` source tests:
 * serves an in-memory image (tests/helpers/image.ts `buildImage`) and can misbehave on
 * purpose — require Bearer (token endpoint on the same server) or Basic auth, redirect
 * blobs to a second "CDN" server, flip a byte of one blob, lie in Docker-Content-Digest,
 * and fail requests on purpose (`fault`: a status, a body that stalls, drops or trickles).
 * Blob GETs honour `Range: bytes=N-` (206) unless `ignoreRange`. Every request is
 * recorded with its Authorization, Range and User-Agent headers.
 */
import type { Descriptor } from "../../lib/oci/mediatypes.ts";

export interface FakeRegistryOptions {
  /** Every manifest and blob, by digest. */
  blobs: Map<string, Uint8Array>;
  /** tag → root descriptor (any repository name is accepted). */
  tags: Record<string, Descriptor>;
  /** Auth the registry demands; with `username`, the token endpoint / Basic check it. */
  auth?: { scheme: "bearer" | "basic"; username?: string; password?: string };
  /** Serve this blob with one byte flipped. */
  corrupt?: string;
  /** Send this Docker-Content-Digest for every manifest instead of the true one. */
  lyingDigest?: string;
  /** 307 every blob GET to a second server (another origin). */
  redirectBlobs?: boolean;
  /** A Bearer token is good for this many registry requests (default: forever). */
  tokenUses?: number;
  /** Misbehaviour for one manifest or blob GET (`attempt`: 1 for the first GET of `ref`). */
  fault?: (req: { kind: "manifests" | "blobs"; ref: string; attempt: number }) => Fault | undefined;
  /** Answer blob GETs with Range as if Range were not supported (200, whole body). */
  ignoreRange?: boolean;
}

/** How one response misbehaves. Bodies keep their true Content-Length. */
export type Fault =
  | { status: number; headers?: Record<string, string> }
  /** Sends this many bytes, then nothing more (until the client gives up). */
  | { stallAfter: number }
  /** Sends this many bytes, then breaks the connection. */
  | { dropAfter: number }
  /** Sends `bytes` every `everyMs` (a slow link). */
  | { trickle: { bytes: number; everyMs: number } };

export interface Request {
  server: "registry" | "cdn";
  path: string;
  authorization: string | null;
  range?: string | null;
  userAgent?: string | null;
}

export interface FakeRegistry {
  /** `127.0.0.1:PORT` */
  addr: string;
  requests: Request[];
  close(): Promise<void>;
}

/** Starts the registry (and its CDN when `redirectBlobs`); `close()` stops both. */
export function startFakeRegistry(o: FakeRegistryOptions): FakeRegistry {
  const requests: Request[] = [];
  const attempts = new Map<string, number>();
  const hung: ReadableStreamDefaultController<Uint8Array>[] = [];
  /** A response for `bytes` (maybe a range of them), misbehaving as `fault` says. */
  const body = (bytes: Uint8Array, range: string | null, fault?: Fault): Response => {
    if (fault && "status" in fault) {
      return new Response(`fault ${fault.status}`, {
        status: fault.status,
        headers: fault.headers,
      });
    }
    const from = Number(/^bytes=([0-9]+)-$/.exec(range ?? "")?.[1] ?? 0);
    const partial = from > 0 && !o.ignoreRange;
    const sent = partial ? bytes.subarray(from) : bytes;
    const headers: Record<string, string> = { "content-length": String(sent.byteLength) };
    if (partial) {
      headers["content-range"] = `bytes ${from}-${bytes.byteLength - 1}/${bytes.byteLength}`;
    }
    const status = partial ? 206 : 200;
    if (!fault) return new Response(sent.slice(), { status, headers });
    let at = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        if ("trickle" in fault) {
          await new Promise((r) => setTimeout(r, fault.trickle.everyMs));
          const n = Math.min(fault.trickle.bytes, sent.byteLength - at);
          ctl.enqueue(sent.slice(at, at + n));
          at += n;
          if (at >= sent.byteLength) ctl.close();
          return;
        }
        const cut = "stallAfter" in fault ? fault.stallAfter : fault.dropAfter;
        if (at < cut) {
          ctl.enqueue(sent.slice(0, cut));
          at = cut;
          return;
        }
        if ("dropAfter" in fault) ctl.error(new Error("fake registry: connection dropped"));
        else hung.push(ctl); // never resolves more data
        return new Promise(() => {});
      },
    });
    return new Response(stream, { status, headers });
  };
  const bytesOf = (digest: string): Uint8Array<ArrayBuffer> | undefined => {
    const b = o.blobs.get(digest)?.slice();
    if (!b || digest !== o.corrupt) return b;
    const c = b;
    c[c.length >> 1] ^= 0xff;
    return c;
  };
  const cdn = o.redirectBlobs
    ? Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      const path = new URL(req.url).pathname;
      requests.push({
        server: "cdn",
        path,
        authorization: req.headers.get("authorization"),
        userAgent: req.headers.get("user-agent"),
      });
      const b = bytesOf(path.slice("/cdn/".length));
      return b ? body(b, req.headers.get("range")) : new Response("no", { status: 404 });
    })
    : undefined;
  const basic = o.auth?.username
    ? `Basic ${btoa(`${o.auth.username}:${o.auth.password}`)}`
    : undefined;

  const tokens = new Map<string, number>(); // token → registry requests left
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    const authorization = req.headers.get("authorization");
    const range = req.headers.get("range");
    const userAgent = req.headers.get("user-agent");
    requests.push({
      server: "registry",
      path: url.pathname + url.search,
      authorization,
      range,
      userAgent,
    });
    const err = (status: number, code: string, headers: Record<string, string> = {}) =>
      Response.json({ errors: [{ code, message: code.toLowerCase() }] }, { status, headers });
    if (url.pathname === "/token") {
      if (basic && authorization !== basic) return err(401, "UNAUTHORIZED");
      const token = `fake-token-${crypto.randomUUID()}`;
      tokens.set(token, o.tokenUses ?? Infinity);
      return Response.json({ token });
    }
    const left = tokens.get(authorization?.replace(/^Bearer /, "") ?? "") ?? 0;
    if (left > 0) tokens.set(authorization!.replace(/^Bearer /, ""), left - 1);
    if (o.auth?.scheme === "bearer" && left <= 0) {
      const realm = `http://${url.host}/token`;
      return err(401, "UNAUTHORIZED", {
        "www-authenticate": `Bearer realm="${realm}",service="fake",scope="repository:x:pull"`,
      });
    }
    if (o.auth?.scheme === "basic" && authorization !== basic) {
      return err(401, "UNAUTHORIZED", { "www-authenticate": 'Basic realm="fake"' });
    }
    if (url.pathname === "/v2/") return new Response("{}");
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!m) return err(404, "NAME_UNKNOWN");
    const [, , kind, ref] = m;
    const attempt = (attempts.get(`${kind}/${ref}`) ?? 0) + 1;
    attempts.set(`${kind}/${ref}`, attempt);
    const fault = o.fault?.({ kind: kind as "manifests" | "blobs", ref, attempt });
    if (kind === "manifests") {
      const d = o.tags[ref] ??
        [...o.blobs.keys()].map((k) => ({ digest: k })).find((x) => x.digest === ref);
      const bytes = d && o.blobs.get(d.digest)?.slice();
      if (!d || !bytes) return err(404, "MANIFEST_UNKNOWN");
      const doc = JSON.parse(new TextDecoder().decode(bytes));
      const res = body(bytes, null, fault);
      res.headers.set("content-type", doc.mediaType);
      res.headers.set("docker-content-digest", o.lyingDigest ?? d.digest);
      return res;
    }
    if (cdn) {
      return new Response(null, {
        status: 307,
        headers: { location: `http://127.0.0.1:${cdn.addr.port}/cdn/${ref}` },
      });
    }
    const b = bytesOf(ref);
    return b ? body(b, range, fault) : err(404, "BLOB_UNKNOWN");
  });
  return {
    addr: `127.0.0.1:${server.addr.port}`,
    requests,
    async close() {
      for (const c of hung) c.error(new Error("fake registry closing"));
      await server.shutdown();
      await cdn?.shutdown();
    },
  };
}
