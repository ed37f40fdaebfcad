/**
 * @module
 * A tiny pull-only registry over Deno.serve on 127.0.0.1 for the `docker://` source tests:
 * serves an in-memory image (tests/helpers/image.ts `buildImage`) and can misbehave on
 * purpose — require Bearer (token endpoint on the same server) or Basic auth, redirect
 * blobs to a second "CDN" server, flip a byte of one blob, lie in Docker-Content-Digest.
 * Every request is recorded with its Authorization header.
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
}

export interface Request {
  server: "registry" | "cdn";
  path: string;
  authorization: string | null;
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
      requests.push({ server: "cdn", path, authorization: req.headers.get("authorization") });
      const b = bytesOf(path.slice("/cdn/".length));
      return b ? new Response(b) : new Response("no", { status: 404 });
    })
    : undefined;
  const basic = o.auth?.username
    ? `Basic ${btoa(`${o.auth.username}:${o.auth.password}`)}`
    : undefined;

  const tokens = new Map<string, number>(); // token → registry requests left
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    const authorization = req.headers.get("authorization");
    requests.push({ server: "registry", path: url.pathname + url.search, authorization });
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
    if (kind === "manifests") {
      const d = o.tags[ref] ??
        [...o.blobs.keys()].map((k) => ({ digest: k })).find((x) => x.digest === ref);
      const bytes = d && o.blobs.get(d.digest)?.slice();
      if (!d || !bytes) return err(404, "MANIFEST_UNKNOWN");
      const doc = JSON.parse(new TextDecoder().decode(bytes));
      return new Response(bytes, {
        headers: {
          "content-type": doc.mediaType,
          "docker-content-digest": o.lyingDigest ?? d.digest,
        },
      });
    }
    if (cdn) {
      return new Response(null, {
        status: 307,
        headers: { location: `http://127.0.0.1:${cdn.addr.port}/cdn/${ref}` },
      });
    }
    const b = bytesOf(ref);
    return b ? new Response(b) : err(404, "BLOB_UNKNOWN");
  });
  return {
    addr: `127.0.0.1:${server.addr.port}`,
    requests,
    async close() {
      await server.shutdown();
      await cdn?.shutdown();
    },
  };
}
