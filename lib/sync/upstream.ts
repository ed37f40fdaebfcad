/**
 * @module
 * What sync asks an upstream repository before deciding to copy, over the publisher's own
 * registry client (lib/sources/registry_client.ts: auth, redirects, retries, resumes):
 *
 * - {@link Upstream.tags}: `GET /v2/<name>/tags/list?n=1000`, following `Link: <…>;
 *   rel="next"` (distribution-spec §"Listing Tags", RFC 8288) until there is none;
 * - {@link Upstream.manifest}: ONE `GET /v2/<name>/manifests/<ref>`, whose bytes give the
 *   digest (computed, and checked against `Docker-Content-Digest` when sent) and, for an
 *   index, its children — all sync needs to tell an unchanged tag from a changed one.
 */
import { digestOf } from "../oci/digest.ts";
import { isManifestType, type ManifestInfo, parseManifest } from "../oci/mediatypes.ts";
import { redactUrl } from "../oci/redact.ts";
import { MANIFEST_ACCEPT } from "../sources/docker_registry.ts";
import type { DockerReference } from "../sources/docker_reference.ts";
import type { CredentialLookup } from "../sources/registry_auth.ts";
import { RegistryClient, responseError } from "../sources/registry_client.ts";
import type { RetryPolicy } from "../sources/registry_retry.ts";
import { MANIFEST_MAX } from "../sources/source.ts";

export interface UpstreamOptions {
  credentials?: CredentialLookup;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  fetch?: typeof fetch;
  /** Tags asked for per tags/list page (default {@link PAGE}). */
  pageSize?: number;
}

/** An upstream manifest as sync needs it. */
export interface UpstreamManifest {
  digest: string;
  mediaType: string;
  size: number;
  info: ManifestInfo;
}

/** Page size asked for; registries may send fewer (and then a Link to the rest). */
const PAGE = 1000;
/** A repository with more pages than this is refused rather than listed forever. */
const MAX_PAGES = 1000;

/** One upstream repository. */
export class Upstream {
  readonly #client: RegistryClient;
  readonly #where: string;
  readonly #page: number;

  constructor(readonly ref: DockerReference, opts: UpstreamOptions = {}) {
    this.#page = opts.pageSize ?? PAGE;
    this.#where = `${ref.host}/${ref.repository}`;
    this.#client = new RegistryClient({
      base: ref.base,
      host: ref.host,
      repository: ref.repository,
      credentials: opts.credentials,
      timeoutMs: opts.timeoutMs,
      idleTimeoutMs: opts.timeoutMs,
      retry: opts.retry,
      fetch: opts.fetch,
    });
  }

  /** Every tag the upstream lists, in its order. */
  async tags(): Promise<string[]> {
    const out: string[] = [];
    let path: string | undefined = `/v2/${this.ref.repository}/tags/list?n=${this.#page}`;
    for (let page = 0; path; page++) {
      if (page >= MAX_PAGES) {
        throw new Error(`tags of ${this.#where}: more than ${MAX_PAGES} pages`);
      }
      const res = await this.#client.get(path, { accept: "application/json" });
      const what = `tags of ${this.#where}`;
      if (res.status !== 200) throw await responseError(res, what);
      const doc = await res.json().catch(() => null);
      if (!doc || (doc.tags !== null && !Array.isArray(doc.tags))) {
        throw new Error(`${what}: the response is not {"tags": [...]}`);
      }
      // distribution answers `"tags": null` for a repository without tags.
      for (const t of doc.tags ?? []) if (typeof t === "string") out.push(t);
      path = nextPage(res.headers.get("link"), this.ref.base);
    }
    return out;
  }

  /** GETs manifest `reference` (tag or digest) once; see the module doc. */
  async manifest(reference: string): Promise<UpstreamManifest> {
    const path = `/v2/${this.ref.repository}/manifests/${reference}`;
    const what = `manifest "${reference}" of ${this.#where}`;
    const res = await this.#client.get(path, { accept: MANIFEST_ACCEPT });
    if (res.status !== 200) throw await responseError(res, what);
    if (Number(res.headers.get("content-length") ?? 0) > MANIFEST_MAX) {
      await res.body?.cancel();
      throw new Error(`${what}: larger than ${MANIFEST_MAX} bytes`);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.byteLength > MANIFEST_MAX) {
      throw new Error(`${what}: larger than ${MANIFEST_MAX} bytes`);
    }
    const algorithm = reference.startsWith("sha512:") ? "sha512" : "sha256";
    const digest = digestOf(bytes, algorithm);
    const header = res.headers.get("docker-content-digest");
    if (reference.includes(":") && digest !== reference) {
      throw new Error(`${what}: served content with digest ${digest}`);
    }
    if (header !== null && header.startsWith(`${algorithm}:`) && header !== digest) {
      throw new Error(
        `${what}: Docker-Content-Digest is ${header}, the content hashes to ${digest}`,
      );
    }
    const type = res.headers.get("content-type")?.split(";")[0].trim() ?? "";
    let info: ManifestInfo;
    try {
      info = parseManifest(bytes, isManifestType(type) ? type : undefined);
    } catch (e) {
      throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
    }
    return { digest, mediaType: info.mediaType, size: bytes.byteLength, info };
  }
}

/** The `rel="next"` target of a Link header, as a path below `base` (same origin only). */
export function nextPage(link: string | null, base: string): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(",")) {
    const m = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (!m || !/\brel="?next"?/.test(m[2])) continue;
    const url = new URL(m[1], base);
    if (url.origin !== new URL(base).origin) {
      throw new Error(`tags/list: Link to another origin ${redactUrl(url)}`);
    }
    return url.pathname + url.search;
  }
  return undefined;
}
