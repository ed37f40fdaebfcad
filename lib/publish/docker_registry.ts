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
 *   and digest while streaming them into the store (copy.ts), so a corrupt blob fails there
 *   before it is committed.
 * - Hosts: a first component with a `.` or `:` or `localhost` is a registry host; otherwise
 *   the image is on Docker Hub (`docker.io`, one-component names get `library/`), as in
 *   skopeo. HTTPS always, except loopback hosts (127.0.0.0/8, localhost, [::1]), which are
 *   spoken to in plain HTTP: a test or port-forwarded registry, never the network.
 * - Referrers are not looked up (`related()` is empty).
 */
import type { Descriptor } from "../oci/mediatypes.ts";
import {
  DOCKER_LIST,
  DOCKER_MANIFEST,
  isManifestType,
  OCI_INDEX,
  OCI_MANIFEST,
  parseManifest,
} from "../oci/mediatypes.ts";
import { type Algorithm, digestOf, digestProblem } from "../oci/digest.ts";
import { UsageError } from "../oci/errors.ts";
import { isTag, nameProblem } from "../oci/reference.ts";
import { MANIFEST_MAX } from "./collect.ts";
import type { CredentialLookup } from "./registry_auth.ts";
import { isLoopback, RegistryClient, responseError } from "./registry_client.ts";
import type { Source } from "./source.ts";

/** What we accept for manifests, best first (distribution-spec §"Pulling manifests"). */
export const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].join(", ");

/** A parsed `docker://` reference. */
export interface DockerReference {
  /** As written (`127.0.0.1:5000`), or `docker.io`. */
  host: string;
  /** API origin: `http://127.0.0.1:5000`, `https://registry-1.docker.io`. */
  base: string;
  repository: string;
  /** The tag (`latest` when neither tag nor digest is given). */
  tag?: string;
  digest?: string;
}

/** Parses what follows `docker:`; throws UsageError naming the part that is wrong. */
export function parseDockerReference(rest: string, spec: string): DockerReference {
  const bad = (why: string) => new UsageError(`source "${spec}": ${why}`);
  if (!rest.startsWith("//")) throw bad('expected "docker://HOST/REPO[:TAG]"');
  let name = rest.slice(2);
  let tag: string | undefined;
  let digest: string | undefined;
  const at = name.indexOf("@");
  if (at >= 0) {
    digest = name.slice(at + 1);
    name = name.slice(0, at);
    const why = digestProblem(digest);
    if (why) throw bad(`digest "${digest}": ${why}`);
  } else if (name.lastIndexOf(":") > name.lastIndexOf("/")) {
    tag = name.slice(name.lastIndexOf(":") + 1);
    name = name.slice(0, name.lastIndexOf(":"));
    if (!isTag(tag)) throw bad(`tag "${tag}": must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
  }
  const slash = name.indexOf("/");
  const first = slash < 0 ? "" : name.slice(0, slash);
  let host = "docker.io";
  let repository = name;
  if (/[.:]/.test(first) || first === "localhost" || first.startsWith("[")) {
    host = first;
    repository = name.slice(slash + 1);
  } else if (!name.includes("/")) {
    repository = `library/${name}`;
  }
  if (!/^(\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]+)(:\d{1,5})?$/.test(host)) {
    throw bad(`registry host "${host}" is not HOST[:PORT]`);
  }
  const why = nameProblem(repository);
  if (why) throw bad(`repository "${repository}": ${why}`);
  const base = host === "docker.io"
    ? "https://registry-1.docker.io"
    : `${isLoopback(host) ? "http" : "https"}://${host}`;
  return { host, base, repository, ...(digest ? { digest } : { tag: tag ?? "latest" }) };
}

export interface DockerRegistryOptions {
  /** Credentials by host (see registry_auth.ts); anonymous when absent or unknown. */
  credentials?: CredentialLookup;
  /** Until response headers arrive (default 30 s). */
  timeoutMs?: number;
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

  constructor(spec: string, opts: DockerRegistryOptions = {}) {
    this.description = spec;
    this.ref = parseDockerReference(spec.slice("docker:".length), spec);
    this.tag = this.ref.tag;
    this.#where = `${this.ref.host}/${this.ref.repository}`;
    this.#client = new RegistryClient({
      base: this.ref.base,
      host: this.ref.host,
      repository: this.ref.repository,
      credentials: opts.credentials,
      timeoutMs: opts.timeoutMs,
      fetch: opts.fetch,
    });
  }

  async resolve(): Promise<Descriptor> {
    if (this.#root) return this.#root;
    const reference = this.ref.digest ?? this.ref.tag!;
    const m = await this.#fetchManifest(reference);
    this.#root = m;
    return m;
  }

  async open(digest: string): Promise<{ body: ReadableStream<Uint8Array>; size: number }> {
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
    const res = await this.#get(`/v2/${this.ref.repository}/blobs/${digest}`, {
      // Blobs are stored bytes: no transfer compression that fetch would silently undo.
      "accept-encoding": "identity",
    });
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
    return { body: res.body, size };
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

  /** GETs, verifies, parses and remembers one manifest; returns its descriptor. */
  async #fetchManifest(reference: string): Promise<Descriptor> {
    const what = `source "${this.description}": manifest "${reference}"`;
    const res = await this.#get(`/v2/${this.ref.repository}/manifests/${reference}`, {
      accept: MANIFEST_ACCEPT,
    });
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
    return { mediaType: info.mediaType, digest, size: bytes.byteLength };
  }
}

/** Reads a manifest body, refusing more than MANIFEST_MAX bytes (distribution's own cap). */
async function readLimited(res: Response, what: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? 0);
  if (declared > MANIFEST_MAX) {
    await res.body?.cancel();
    throw new Error(`${what}: ${declared} bytes exceeds the ${MANIFEST_MAX}-byte limit`);
  }
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const c of res.body ?? new ReadableStream<Uint8Array>()) {
    n += c.byteLength;
    if (n > MANIFEST_MAX) throw new Error(`${what}: more than ${MANIFEST_MAX} bytes`);
    chunks.push(c);
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
