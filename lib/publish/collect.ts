/**
 * @module
 * Reads every manifest an image consists of from a source: the root, all children of an
 * index (recursively), and the source's other manifests whose `subject` is one of those
 * (referrers, distribution-spec §"Listing Referrers"). Each manifest's bytes are checked
 * against its descriptor (digest and size) and parsed with parseManifest, which refuses
 * Docker schema 1.
 *
 * From a source that can be asked (a registry: `Source.attached`), the referrers and
 * cosign's `sha256-<hex>.sig|.att|.sbom` tags of the root and of every platform child are
 * collected too (lib/sources/referrers.ts); the tags come back in `CollectedImage.tags`.
 * `signatures: false` collects the image alone.
 */
import type { Descriptor, ManifestInfo } from "../oci/mediatypes.ts";
import { isManifestType, parseManifest } from "../oci/mediatypes.ts";
import { digestProblem, DigestVerifier } from "../oci/digest.ts";
import { OciError } from "../oci/errors.ts";
import { MANIFEST_MAX, type Source } from "../sources/source.ts";

/** Index nesting deeper than this is refused (a sane image never comes close). */
const MAX_DEPTH = 8;

export interface CollectedManifest {
  descriptor: Descriptor;
  bytes: Uint8Array;
  info: ManifestInfo;
}

/** The manifests of an image, children before parents (the order they must be written). */
export interface CollectedImage {
  root: Descriptor;
  manifests: CollectedManifest[];
  /** Every config/layer blob, unique, by digest. */
  blobs: Map<string, Descriptor>;
  /** Tags that go with the image (cosign's `sha256-<hex>.sig`, …) → the manifest digest. */
  tags: Map<string, string>;
}

export interface CollectOptions {
  /**
   * Also collect what is attached to the image: referrers held by the source, and from a
   * registry its referrers and cosign tags (default true).
   */
  signatures?: boolean;
  /**
   * Which children of an index to copy (default: all), e.g. the platforms sync was asked
   * for (lib/sync/platforms.ts). The index itself is kept byte for byte (its digest, and
   * signatures made over it, stay valid); its tag-index entry lists only the children kept,
   * so the store is consistent and a pull of another platform gets MANIFEST_UNKNOWN.
   */
  selectChildren?: (children: Descriptor[], index: Descriptor) => Descriptor[];
}

/** Reads a whole manifest from the source and verifies it against `d`. */
export async function readManifest(source: Source, d: Descriptor): Promise<CollectedManifest> {
  if (d.size > MANIFEST_MAX) {
    throw new Error(`manifest ${d.digest}: size ${d.size} exceeds the ${MANIFEST_MAX}-byte limit`);
  }
  const { body } = await source.open(d.digest);
  const verifier = new DigestVerifier(d.digest, d.size);
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) {
    verifier.update(chunk);
    if (verifier.size > MANIFEST_MAX) break;
    chunks.push(chunk);
  }
  verifier.check("manifest");
  const bytes = new Uint8Array(verifier.size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  let info: ManifestInfo;
  try {
    info = parseManifest(bytes, d.mediaType);
  } catch (e) {
    const why = e instanceof OciError ? e.message : String(e);
    throw new Error(`manifest ${d.digest} in ${source.description}: ${why}`, { cause: e });
  }
  return { descriptor: { ...d, mediaType: info.mediaType }, bytes, info };
}

/**
 * Refuses a descriptor digest we cannot verify or serve (an unsupported algorithm,
 * uppercase hex), naming the source, the manifest and the descriptor within it:
 * `oci:img:v1: manifest sha256:…: layers[1] "sha384:…": unsupported algorithm "sha384"`.
 */
function checkDigest(source: Source, m: CollectedManifest, field: string, digest: string): void {
  const why = digestProblem(digest);
  if (why === null) return;
  throw new Error(
    `${source.description}: manifest ${m.descriptor.digest}: ${field} "${digest}": ${why}`,
  );
}

/** Walks the image from its root; see the module doc. */
export async function collectImage(
  source: Source,
  opts: CollectOptions = {},
): Promise<CollectedImage> {
  return await (await collectStaged(source, opts)).complete();
}

/**
 * {@link collectImage} in two steps: `image` is what the source holds (the root, its
 * children and the referrers of `related()`), known before the registry is asked what is
 * attached; `complete()` asks (referrers API, cosign tags) and resolves to the whole
 * image, `image`'s blobs and manifests included. publish starts copying `image.blobs`
 * while the lookups run: they were ~10 ms of round trips before the first blob of a
 * `publish docker://` (issue 13).
 */
export async function collectStaged(
  source: Source,
  opts: CollectOptions = {},
): Promise<{ image: CollectedImage; complete(): Promise<CollectedImage> }> {
  const root = await source.resolve();
  const seen = new Map<string, CollectedManifest>();
  const ordered: CollectedManifest[] = [];

  const visit = async (d: Descriptor, depth: number, path: string): Promise<void> => {
    if (seen.has(d.digest)) return;
    if (depth > MAX_DEPTH) throw new Error(`${path}: indexes nested deeper than ${MAX_DEPTH}`);
    // No media-type pre-check: parseManifest gives the precise refusal (schema 1, …).
    let m = await readManifest(source, d);
    if (opts.selectChildren && m.info.manifests.length) {
      const kept = opts.selectChildren(m.info.manifests, m.descriptor);
      if (!kept.length) throw new Error(`${path}: index ${d.digest}: no child selected`);
      m = { ...m, info: { ...m.info, manifests: kept } };
    }
    seen.set(d.digest, m);
    for (const [i, child] of m.info.manifests.entries()) {
      checkDigest(source, m, `manifests[${i}]`, child.digest);
      await visit(child, depth + 1, `${path}.manifests[${i}]`);
    }
    for (const [i, b] of m.info.blobs.entries()) {
      checkDigest(source, m, i === 0 ? "config" : `layers[${i - 1}]`, b.digest);
    }
    ordered.push(m); // after its children: parents are written last
  };
  await visit(root, 0, "root");

  // Referrers held by the source (e.g. signatures beside the image in index.json). A
  // referrer of a referrer is taken too, hence the loop until nothing new is found.
  // Unreadable candidates are skipped: they may be other images of the layout, not ours.
  const pending = new Map<string, CollectedManifest>();
  const signatures = opts.signatures !== false;
  for (const d of signatures ? await source.related() : []) {
    if (seen.has(d.digest) || !isManifestType(d.mediaType)) continue;
    try {
      pending.set(d.digest, await readManifest(source, d));
    } catch { /* not part of this image */ }
  }
  for (let found = true; found;) {
    found = false;
    for (const [digest, m] of pending) {
      if (m.info.subject && seen.has(m.info.subject.digest)) {
        pending.delete(digest);
        await visit(m.descriptor, 0, "referrer");
        found = true;
      }
    }
  }

  const rootDescriptor = seen.get(root.digest)!.descriptor;
  const image: CollectedImage = {
    root: rootDescriptor,
    manifests: [...ordered],
    blobs: blobsOf(ordered),
    tags: new Map(),
  };
  const complete = async (): Promise<CollectedImage> => {
    if (!signatures || !source.attached) return image;
    const tags = await collectAttached(source, source.attached.bind(source), seen, visit);
    return { root: rootDescriptor, manifests: ordered, blobs: blobsOf(ordered), tags };
  };
  return { image, complete };
}

/** Every config/layer blob of `manifests`, unique, by digest. */
function blobsOf(manifests: readonly CollectedManifest[]): Map<string, Descriptor> {
  const blobs = new Map<string, Descriptor>();
  for (const m of manifests) {
    for (const b of m.info.blobs) {
      const prev = blobs.get(b.digest);
      if (prev && prev.size !== b.size) {
        throw new Error(
          `blob ${b.digest}: descriptors disagree on its size (${prev.size}, ${b.size})`,
        );
      }
      blobs.set(b.digest, b);
    }
  }
  return blobs;
}

/**
 * Visits what the registry says is attached to the manifests seen so far (root and
 * platform children): referrers (kept only when their `subject` is a manifest of the
 * image or another referrer: a stale tag-schema index may list others) and cosign tags.
 * Returns the tags. `visit` reads and verifies each like any manifest of the image.
 */
async function collectAttached(
  source: Source,
  attached: NonNullable<Source["attached"]>,
  seen: Map<string, CollectedManifest>,
  visit: (d: Descriptor, depth: number, path: string) => Promise<void>,
): Promise<Map<string, string>> {
  const found = await attached([...seen.keys()]);
  for (const d of found.referrers) {
    if (seen.has(d.digest) || !isManifestType(d.mediaType)) continue;
    const m = await readManifest(source, d);
    if (!m.info.subject || !seen.has(m.info.subject.digest)) continue;
    await visit(m.descriptor, 0, `referrer ${d.digest}`);
  }
  const tags = new Map<string, string>();
  for (const [tag, d] of found.tags) {
    await visit(d, 0, `tag ${tag}`);
    tags.set(tag, d.digest);
  }
  return tags;
}
