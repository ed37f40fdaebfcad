/**
 * @module
 * Export repositories of a store as a standard OCI image layout (image-spec §"Image
 * Layout"): a directory (`oci:DIR`) or a tar of one (`oci-archive:FILE`), for carrying
 * images across an air gap or handing them to skopeo, oras, crane, containerd.
 *
 * Every exported tag becomes one entry of `index.json`, annotated with
 *  - `org.opencontainers.image.ref.name` = the tag (what `skopeo copy oci:DIR:TAG` and
 *    `oras` look up; skopeo's reference grammar allows no `/` or `:` there), and
 *  - `io.containerd.image.name` = `<repo>:<tag>` (what `ctr import` names the image, and
 *    what `static-registry import` reads to put it back under the same repository).
 * Signatures and attestations go with the images (attached.ts): the referrers of every
 * exported manifest as unnamed entries, cosign's `sha256-<hex>.sig|.att|.sbom` tags of the
 * exported manifests as tags (added to a `repo:tag` selection).
 * Blobs are copied once however many repositories share them, each verified against its
 * digest while it is written. Into an existing layout directory, the entries are merged
 * (sinks.ts says how a name clash is handled).
 */
import { blobKey, CATALOG_KEY, repoIndexKey } from "../layout/keys.ts";
import { readDocument } from "../layout/documents.ts";
import { validateCatalog, validateRepoIndex } from "../layout/rules.ts";
import { referencedObjects } from "../layout/walk.ts";
import { DigestVerifier } from "../oci/digest.ts";
import { bodyStream, isStreamStore, type ReadStore } from "../store/store.ts";
import { REF_NAME } from "../sources/oci_layout.ts";
import { ANNOTATION_IMAGE_NAME } from "./names.ts";
import { dirSink, type IndexEntry, type IndexOutcome, tarSink } from "./sinks.ts";
import { referrerEntries, withCosignTags } from "./attached.ts";
import { noProgress, type PublishProgress } from "../publish/progress.ts";
import { assertNewTarget, encodeRecord, heldAfter, omitHeld } from "./incremental.ts";
import { catalogNames } from "../layout/catalog.ts";

const sum = (xs: { size: number }[]) => xs.reduce((n, x) => n + x.size, 0);

export interface ExportTarget {
  kind: "oci" | "oci-archive";
  path: string;
}

export interface ExportOptions {
  store: ReadStore;
  target: ExportTarget;
  /** Repositories to export, optionally `repo:tag`; all of the catalog when empty. */
  select?: string[];
  onBlob?: (digest: string, size: number) => void;
  /** Told of every object written (the CLI's progress display). */
  progress?: PublishProgress;
  /** A bundle the far side imported: objects it holds are left out (lib/bundle/incremental.ts). */
  since?: string;
}

export interface ExportResult {
  images: { repository: string; tag: string; digest: string }[];
  blobs: number;
  bytes: number;
  /** Entries of an existing layout directory kept beside ours, and replaced by ours. */
  merged: IndexOutcome;
  /** With `since`: the objects left out because the far side holds them. */
  omitted?: { objects: number; bytes: number };
}

/** Parses `oci:DIR` or `oci-archive:FILE` (skopeo's transport names). */
export function parseExportTarget(s: string): ExportTarget {
  const m = /^(oci|oci-archive):(.+)$/.exec(s);
  if (!m) throw new Error(`export target "${s}" must be oci:DIR or oci-archive:FILE`);
  return { kind: m[1] as ExportTarget["kind"], path: m[2] };
}

/** Writes the selected repositories of `store` as an OCI image layout. */
export async function exportLayout(opts: ExportOptions): Promise<ExportResult> {
  const { store } = opts;
  const wanted = await selection(store, opts.select ?? []);
  const images: ExportResult["images"] = [];
  const objects = new Map<string, number>(); // digest → size, manifests and blobs
  const entries: IndexEntry[] = [];
  const referrers: IndexEntry[] = [];
  const listed = new Set<string>(); // digests that have an entry (tagged roots, referrers)
  for (const [name, tags] of wanted) {
    const key = repoIndexKey(name);
    const idx = await readDocument(store, key, (v) => validateRepoIndex(v, name));
    if (!idx) throw new Error(`store ${store.location}: ${key} not found`);
    const asked = tags ?? Object.keys(idx.tags).sort();
    const selected = withCosignTags(idx, asked, referencedObjects(idx, { tags: asked }));
    const reached = referencedObjects(idx, { tags: selected });
    for (const o of reached) objects.set(o.digest, o.size);
    for (const tag of selected) listed.add(idx.tags[tag]); // named: no unnamed entry too
    referrers.push(...referrerEntries(idx, reached, listed));
    for (const tag of selected) {
      const digest = idx.tags[tag];
      const m = idx.manifests[digest];
      entries.push({
        mediaType: m.mediaType,
        digest,
        size: m.size,
        annotations: { [REF_NAME]: tag, [ANNOTATION_IMAGE_NAME]: `${name}:${tag}` },
      });
      images.push({ repository: name, tag, digest });
    }
  }
  // Incremental (lib/bundle/incremental.ts): leave out what the far side holds, record it.
  if (opts.since) await assertNewTarget(opts.target.kind, opts.target.path);
  const split = opts.since ? omitHeld(objects, await heldAfter(opts.since)) : undefined;
  const record = split && encodeRecord(opts.since!, split.omit, split.write);
  const sink = opts.target.kind === "oci"
    ? await dirSink(opts.target.path)
    : tarSink(opts.target.path);
  let bytes = 0;
  let merged: IndexOutcome;
  const progress = opts.progress ?? noProgress;
  const items = [...(split?.write ?? objects)].sort().map(([digest, size]) => ({ digest, size }));
  progress.start({ blobs: items.length, bytes: sum(items), items });
  try {
    for (const { digest, size } of items) {
      progress.blobStart?.(digest, size);
      const body = await openVerified(store, digest, size, (n) => {
        progress.advance(n);
        progress.blobAdvance?.(digest, n);
      });
      await sink.blob(digest, size, body);
      bytes += size;
      progress.blobDone(digest, true);
      opts.onBlob?.(digest, size);
    }
    if (record) {
      const body = new Blob([record.bytes as BlobPart]).stream();
      await sink.blob(record.digest, record.bytes.byteLength, body);
    }
    // index.json last: an interrupted export is not a valid layout rather than a wrong one.
    merged = await sink.finish([...entries, ...referrers], record?.annotations);
  } catch (e) {
    await sink.abort();
    throw e;
  } finally {
    progress.stop();
  }
  const omitted = split && {
    objects: split.omit.size,
    bytes: [...split.omit.values()].reduce((a, b) => a + b, 0),
  };
  return { images, blobs: split?.write.size ?? objects.size, bytes, merged, omitted };
}

/** Repository → selected tags (undefined = all tags). */
async function selection(store: ReadStore, select: string[]) {
  const out = new Map<string, string[] | undefined>();
  if (select.length === 0) {
    const catalog = await readDocument(store, CATALOG_KEY, validateCatalog);
    if (!catalog) throw new Error(`store ${store.location}: ${CATALOG_KEY} not found`);
    for (const name of catalogNames(catalog)) out.set(name, undefined);
    return out;
  }
  for (const s of select) {
    const colon = s.lastIndexOf(":");
    const [name, tag] = colon > 0 ? [s.slice(0, colon), s.slice(colon + 1)] : [s, undefined];
    if (tag === undefined) out.set(name, undefined);
    else if (out.has(name) && out.get(name) === undefined) continue;
    else out.set(name, [...(out.get(name) ?? []), tag]);
  }
  return out;
}

/**
 * The object's bytes as a stream that errors unless digest and size match; `onBytes` sees
 * each chunk's length (progress).
 */
async function openVerified(
  store: ReadStore,
  digest: string,
  size: number,
  onBytes: (n: number) => void = () => {},
): Promise<ReadableStream<Uint8Array>> {
  const key = blobKey(digest);
  let body: ReadableStream<Uint8Array>;
  if (isStreamStore(store)) {
    const o = await store.open(key);
    if (!o) throw new Error(`store ${store.location}: ${key} is missing`);
    body = bodyStream(o.body);
  } else {
    const r = await store.read(key);
    if (r.status !== "ok") throw new Error(`store ${store.location}: ${key} is missing`);
    body = new Blob([r.bytes as BlobPart]).stream();
  }
  const v = new DigestVerifier(digest, size);
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        v.update(chunk);
        onBytes(chunk.byteLength);
        c.enqueue(chunk);
      },
      flush() {
        v.check("blob");
      },
    }),
  );
}
