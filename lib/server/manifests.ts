/**
 * @module
 * `GET|HEAD /v2/<name>/manifests/<reference>` (distribution-spec §"Pulling manifests").
 * Served from the in-memory index and the manifest cache, never redirected: clients fail
 * on a manifest served with the wrong Content-Type. The exact stored bytes are returned,
 * so their digest is the `Docker-Content-Digest` the client verifies.
 */
import { errors } from "../oci/errors.ts";
import { parseReference } from "../oci/reference.ts";
import type { Logger } from "../log.ts";
import type { RequestContext } from "./context.ts";
import { API_VERSION, API_VERSION_HEADER, empty } from "./http.ts";
import { findRepo } from "./lookup.ts";

/** Builds the manifests handler: one for every store; the request's store is `c.mount`. */
export function manifestsRoute(log: Logger) {
  return async function manifests(c: RequestContext): Promise<Response> {
    const { req, ref } = c;
    const found = findRepo(c);
    const repo = found instanceof Promise ? await found : found;
    // Tags and digests of the index were validated at load: look up first, and parse the
    // reference only to tell a malformed digest (400) from an unknown reference (404).
    const digest = repo.tagDigest(ref) ?? ref;
    const entry = repo.index.manifests[digest];
    if (!entry) {
      parseReference(ref);
      throw errors.manifestUnknown(ref);
    }
    const etag = `"${digest}"`;
    const inm = req.headers.get("if-none-match");
    if (inm !== null && etagMatches(inm, etag)) {
      return empty(304, { "Docker-Content-Digest": digest, ETag: etag });
    }
    // HEAD is answered from the index: the tag index is written after the manifest
    // (docs/LAYOUT.md, write order), so the entry's size is the stored size.
    let body: Uint8Array<ArrayBuffer> | null = null;
    let length = entry.size;
    if (req.method !== "HEAD") {
      const bytes = await c.mount.registry.manifest(digest);
      if (!bytes) {
        log.warn({ name: c.name, digest }, "the index lists a manifest the store does not have");
        throw errors.manifestUnknown(ref);
      }
      body = bytes as Uint8Array<ArrayBuffer>;
      length = bytes.byteLength;
    }
    return new Response(body, {
      status: 200,
      headers: {
        [API_VERSION_HEADER]: API_VERSION,
        "Content-Type": entry.mediaType,
        "Content-Length": String(length),
        "Docker-Content-Digest": digest,
        ETag: etag,
      },
    });
  };
}

/** RFC 9110 §13.1.2 If-None-Match: `*` or a list of (weak or strong) entity tags. */
export function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === "*") return true;
  for (const part of header.split(",")) {
    let t = part.trim();
    if (t.startsWith("W/")) t = t.slice(2);
    if (t === etag) return true;
  }
  return false;
}
