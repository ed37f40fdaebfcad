/**
 * @module
 * `docker://HOST[:PORT]/REPO[:TAG|@DIGEST]`: an image in another registry, read with the
 * OCI distribution-spec pull API (§"Pulling manifests", §"Pulling blobs") over `fetch`.
 *
 * - The root manifest is GET by tag (or digest) with an `Accept` listing the OCI and Docker
 *   schema 2 manifest and index types. Its digest is computed from the bytes received and
 *   must equal `Docker-Content-Digest` when the registry sends one (and the requested
 *   digest for a digest reference); manifests are then published byte for byte.
 * - Child manifests of an index are GET by digest, blobs from `/blobs/<digest>` following
 *   redirects (RegistryClient). Blob bytes are not hashed here: the publisher verifies size
 *   and digest while streaming them into the store, or, for a directory store, after
 *   `download()` wrote them into its temp file natively (blob_download.ts), so a corrupt
 *   blob fails there before it is committed (copy.ts).
 * - Hosts are read as skopeo reads them (docker_reference.ts). HTTPS always, except
 *   loopback hosts (127.0.0.0/8, localhost, [::1]), which are spoken to in plain HTTP: a
 *   test or port-forwarded registry, never the network.
 * - `related()` is empty; `attached(digests)` finds the referrers and cosign tags of the
 *   image's manifests (referrers.ts: the referrers API, else the referrers tag schema, and
 *   `sha256-<hex>.sig|.att|.sbom`), each fetched and verified like any manifest.
 */
import type { Descriptor, ManifestInfo } from "../oci/mediatypes.ts";
import {
  DOCKER_LIST,
  DOCKER_MANIFEST,
  isManifestType,
  OCI_INDEX,
  OCI_MANIFEST,
  parseManifest,
} from "../oci/mediatypes.ts";
import { type Algorithm, digestOf } from "../oci/digest.ts";
import { UsageError } from "../cli/usage.ts";
import type { DockerReference } from "./docker_reference.ts";
import type { CredentialLookup } from "./registry_auth.ts";
import * as fs from "node:fs/promises";
import { type RawResponse, RegistryClient, responseError } from "./registry_client.ts";
import { downloadToFile, linked } from "./blob_download.ts";
import type { RetryPolicy } from "./registry_retry.ts";
import { type BlobDownloadOptions, MANIFEST_MAX, type Source, type SourceBlob } from "./source.ts";
import {
  type Attached,
  type AttachedLookup,
  findAttached,
  nextLink,
  type ReferrersAnswer,
} from "./referrers.ts";
import { readCapped } from "../capped_body.ts";

/** What we accept for manifests, best first (distribution-spec §"Pulling manifests"). */
export const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].join(", ");

export interface DockerRegistryOptions {
  /** Credentials by host (see registry_auth.ts); anonymous when absent or unknown. */
  credentials?: CredentialLookup;
  /** Until response headers arrive (default 30 s). */
  timeoutMs?: number;
  /** Longest wait for the next bytes of a body (registry_client.ts, default 60 s). */
  idleTimeoutMs?: number;
  /** Attempts and backoff of GETs that fail transiently (registry_retry.ts). */
  retry?: Partial<RetryPolicy>;
  fetch?: typeof fetch;
}

/** An image in a registry; see the module doc. */
export class DockerRegistrySource implements Source {
  readonly description: string;
  readonly tag?: string;
  readonly ref: DockerReference;
  readonly #client: RegistryClient;
  readonly #where: string;
  /** Manifests fetched so far, by digest (the root is read twice: resolve, then collect). */
  readonly #manifests = new Map<string, Uint8Array>();
  /** Digests that are manifests (children of fetched indexes): GET /manifests/, not /blobs/. */
  readonly #manifestDigests = new Set<string>();
  /** Blob sizes from the fetched image manifests, for registries that omit Content-Length. */
  readonly #sizes = new Map<string, number>();
  #root?: Descriptor;

  /** `ref` as parsed from `description` (the spec as written) by parseSourceSpec(). */
  constructor(ref: DockerReference, description: string, opts: DockerRegistryOptions = {}) {
    this.description = description;
    this.ref = ref;
    this.tag = this.ref.tag;
    this.#where = `${this.ref.host}/${this.ref.repository}`;
    this.#client = new RegistryClient({
      base: this.ref.base,
      host: this.ref.host,
      repository: this.ref.repository,
      credentials: opts.credentials,
      timeoutMs: opts.timeoutMs,
      idleTimeoutMs: opts.idleTimeoutMs,
      retry: opts.retry,
      fetch: opts.fetch,
    });
  }

  async resolve(): Promise<Descriptor> {
    if (this.#root) return this.#root;
    const reference = this.ref.digest ?? this.ref.tag!;
    const m = (await this.#fetchManifest(reference))!.descriptor;
    this.#root = m;
    return m;
  }

  /** The referrers and cosign tags of `digests` (referrers.ts). */
  attached(digests: readonly string[]): Promise<Attached> {
    const lookup: AttachedLookup = {
      referrers: (digest, next) => this.#referrers(digest, next),
      taggedManifest: async (tag) => {
        const m = await this.#fetchManifest(tag, true);
        return m && { descriptor: m.descriptor, children: m.info.manifests };
      },
    };
    return findAttached(digests, lookup);
  }

  /** One page of `GET /v2/<name>/referrers/<digest>` (distribution-spec §"Listing Referrers"). */
  async #referrers(digest: string, next?: string): Promise<ReferrersAnswer> {
    const path = next ?? `/v2/${this.ref.repository}/referrers/${digest}`;
    const what = `source "${this.description}": referrers of ${digest} from ${this.#where}`;
    const res = await this.#get(path, { accept: OCI_INDEX });
    // 404: no referrers API (distribution 2.8 and older registries); the spec's registries
    // answer an empty index for an unknown subject, never 404.
    if (res.status === 404) {
      await res.body?.cancel();
      return { kind: "none" };
    }
    if (res.status !== 200) {
      const e = await responseError(res, what);
      throw new Error(`${e.message} (--no-signatures copies the image alone)`, { cause: e });
    }
    const bytes = await readLimited(res, what);
    let info;
    try {
      info = parseManifest(bytes, OCI_INDEX);
    } catch (e) {
      throw new Error(`${what}: not an image index: ${(e as Error).message}`, { cause: e });
    }
    if (info.mediaType !== OCI_INDEX) {
      throw new Error(`${what}: answered ${info.mediaType}, not an OCI image index`);
    }
    for (const d of info.manifests) this.#manifestDigests.add(d.digest);
    const base = new URL(path, this.ref.base).href;
    return {
      kind: "api",
      manifests: info.manifests,
      next: nextLink(res.headers.get("link"), base),
    };
  }

  async open(digest: string): Promise<SourceBlob> {
    let bytes = this.#manifests.get(digest);
    if (!bytes && this.#manifestDigests.has(digest)) {
      await this.#fetchManifest(digest);
      bytes = this.#manifests.get(digest)!;
    }
    if (bytes) {
      const chunk = bytes;
      const body = new ReadableStream<Uint8Array>({
        start(ctl) {
          ctl.enqueue(chunk);
          ctl.close();
        },
      });
      return { body, size: chunk.byteLength };
    }
    const raw = await this.#blob(digest);
    return { body: this.#client.resumable(raw.raw), size: raw.size };
  }

  /**
   * Blob `d` into file `path` (blob_download.ts: natively on Bun, resumed after a stall
   * or a drop). Manifests, held in memory, are written from there.
   */
  async download(d: Descriptor, path: string, opts: BlobDownloadOptions = {}): Promise<void> {
    const what = `source "${this.description}": blob ${d.digest}`;
    if (this.#manifests.has(d.digest) || this.#manifestDigests.has(d.digest)) {
      if (!this.#manifests.has(d.digest)) await this.#fetchManifest(d.digest);
      await fs.writeFile(path, this.#manifests.get(d.digest)!);
      return;
    }
    const { ctl, signal } = linked(opts.signal);
    const { raw, size } = await this.#blob(d.digest, signal);
    if (size !== d.size) {
      await raw.response.body?.cancel();
      throw new Error(
        `${what}: ${this.description} holds ${size} bytes, the descriptor says ${d.size}`,
      );
    }
    try {
      await downloadToFile(raw, ctl, path, { size, signal: opts.signal, onBytes: opts.onBytes });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** GETs blob `digest`: a 200 with its size (the manifest's, else Content-Length). */
  async #blob(digest: string, signal?: AbortSignal): Promise<{ raw: RawResponse; size: number }> {
    let raw: RawResponse;
    try {
      raw = await this.#client.getRaw(`/v2/${this.ref.repository}/blobs/${digest}`, {
        // Blobs are stored bytes: no transfer compression that fetch would silently undo.
        "accept-encoding": "identity",
      }, signal);
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new Error(`source "${this.description}": ${(e as Error).message}`, { cause: e });
    }
    const res = raw.response;
    if (res.status !== 200) {
      throw await responseError(
        res,
        `source "${this.description}": blob ${digest} from ${this.#where}`,
      );
    }
    const known = this.#sizes.get(digest);
    const header = res.headers.get("content-length");
    const sent = header === null ? undefined : Number(header);
    if (known !== undefined && sent !== undefined && sent !== known) {
      await res.body?.cancel();
      throw new Error(
        `source "${this.description}": blob ${digest}: registry sends ${sent} bytes, the manifest says ${known}`,
      );
    }
    const size = known ?? sent;
    if (size === undefined || !res.body) {
      await res.body?.cancel();
      throw new Error(`source "${this.description}": blob ${digest}: response has no length`);
    }
    return { raw, size };
  }

  related(): Promise<Descriptor[]> {
    return Promise.resolve([]);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** RegistryClient.get with errors (network, auth) prefixed by the source. */
  async #get(path: string, headers: Record<string, string>): Promise<Response> {
    try {
      return await this.#client.get(path, headers);
    } catch (e) {
      throw new Error(`source "${this.description}": ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * GETs, verifies, parses and remembers one manifest; returns its descriptor and what it
   * references. With `missingOk`, a 404 is null (an optional tag) instead of a UsageError.
   */
  async #fetchManifest(
    reference: string,
    missingOk = false,
  ): Promise<{ descriptor: Descriptor; info: ManifestInfo } | null> {
    const what = `source "${this.description}": manifest "${reference}"`;
    const res = await this.#get(`/v2/${this.ref.repository}/manifests/${reference}`, {
      accept: MANIFEST_ACCEPT,
    });
    if (res.status === 404 && missingOk) {
      await res.body?.cancel();
      return null;
    }
    if (res.status === 404) {
      const e = await responseError(res, `${what} not found in ${this.#where}`);
      throw new UsageError(e.message);
    }
    if (res.status !== 200) throw await responseError(res, `${what} from ${this.#where}`);
    const bytes = await readLimited(res, what);
    const header = res.headers.get("docker-content-digest");
    const algorithm: Algorithm = reference.startsWith("sha512:") ? "sha512" : "sha256";
    const digest = digestOf(bytes, algorithm);
    if (reference.includes(":") && digest !== reference) {
      throw new Error(`${what}: ${this.#where} served content with digest ${digest}`);
    }
    if (header !== null) {
      const headerAlg = header.startsWith("sha512:") ? "sha512" : "sha256";
      const recomputed = headerAlg === algorithm ? digest : digestOf(bytes, headerAlg);
      if (header !== recomputed) {
        throw new Error(
          `${what}: Docker-Content-Digest is ${header}, the content hashes to ${recomputed}`,
        );
      }
    }
    const contentType = res.headers.get("content-type")?.split(";")[0].trim() ?? "";
    let info;
    try {
      info = parseManifest(bytes, isManifestType(contentType) ? contentType : undefined);
    } catch (e) {
      throw new Error(`${what} from ${this.#where}: ${(e as Error).message}`, { cause: e });
    }
    this.#manifests.set(digest, bytes);
    for (const child of info.manifests) this.#manifestDigests.add(child.digest);
    for (const blob of info.blobs) this.#sizes.set(blob.digest, blob.size);
    return { descriptor: { mediaType: info.mediaType, digest, size: bytes.byteLength }, info };
  }
}

/** Reads a manifest body, refusing more than MANIFEST_MAX bytes (distribution's own cap). */
async function readLimited(res: Response, what: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? 0);
  if (declared > MANIFEST_MAX) {
    await res.body?.cancel();
    throw new Error(`${what}: ${declared} bytes exceeds the ${MANIFEST_MAX}-byte limit`);
  }
  return await readCapped(
    res.body,
    MANIFEST_MAX,
    () => new Error(`${what}: more than ${MANIFEST_MAX} bytes`),
  );
}
