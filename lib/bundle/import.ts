/**
 * @module
 * Import an OCI image layout (a directory or a tar of one) into a store: the other half
 * of the air-gapped bundle made by `export`, and a way in for layouts written by skopeo,
 * oras, crane, buildkit or containerd. Where each entry of `index.json` goes is names.ts;
 * untagged entries that no name claims are copied as referrers of the images they name
 * in `subject`.
 *
 * All or nothing, in three passes over every image of the bundle:
 *  1. plan: every destination is checked, every manifest read and verified, every tag-index
 *     entry built and checked against the server's rules, and the store's existing
 *     documents read and validated. Nothing is written; any failure leaves the store as
 *     it was.
 *  2. stage (stage.ts): every blob and manifest of every image is copied, verified while
 *     it streams. A damaged blob in the last image fails the import here, before any tag
 *     moved; the verified objects already copied are content-addressed and unreferenced
 *     (harmless, reused by a rerun, collectable later).
 *  3. tag: each image's tag index and the catalog are written, through the ordinary
 *     publisher (lib/publish, which finds every object present and only writes the
 *     documents), or untagged.ts for a digest-pinned name.
 * Only a store failure during pass 3 (a lock that cannot be had, a write error) can leave
 * some images of the bundle tagged and not others; each document write is atomic.
 */
import { UsageError } from "../cli/usage.ts";
import type { Descriptor } from "../oci/mediatypes.ts";
import { nameProblem } from "../oci/reference.ts";
import type { WriteStore } from "../store/store.ts";
import { type Logger, silentLogger } from "../log.ts";
import { openLayout } from "../sources/open.ts";
import { parseSourceSpec } from "../sources/spec.ts";
import type { Source } from "../sources/source.ts";
import { checkDestination, publish, type PublishResult } from "../publish/publish.ts";
import { ensureMarker } from "../publish/marker.ts";
import { type CollectedImage, collectImage } from "../publish/collect.ts";
import { type IndexUpdate, indexUpdate, planIndexes, repoLockName } from "../publish/indexes.ts";
import { describeDestination, type Destination, destination } from "./names.ts";
import { stageImage } from "./stage.ts";
import { addUntagged } from "./untagged.ts";
import { guardStaged } from "../publish/gc_guard.ts";
import { noProgress, type PublishProgress } from "../publish/progress.ts";
import { checkBase, openWithBase, readRecord } from "./incremental.ts";

const sum = (ds: Iterable<Descriptor>) => [...ds].reduce((n, d) => n + d.size, 0);

export interface ImportOptions {
  /** `oci:DIR` or `oci-archive:FILE`. */
  source: string;
  store: WriteStore;
  /** Repository for entries that carry only a tag (ref.name). */
  repo?: string;
  log?: Logger;
  onImage?: (r: ImportedImage) => void;
  /** Told of the blobs copied in pass 2 (the CLI's progress display). */
  progress?: PublishProgress;
  /** Told when each pass starts (the CLI says on Ctrl-C what was left). */
  onPass?: (pass: ImportPass) => void;
}

/** The passes of the module doc. */
export type ImportPass = "plan" | "stage" | "tag";

/** One imported image: a publish result whose tag is undefined when imported untagged. */
export type ImportedImage = Omit<PublishResult, "tag"> & { tag?: string };

/** An image of the bundle once pass 1 has read and checked it. */
interface Planned {
  dest: Destination;
  label: string;
  source: Source;
  image: CollectedImage;
  update: IndexUpdate;
}

/** Imports every named image of the layout; resolves to one result per image. */
export async function importLayout(opts: ImportOptions): Promise<ImportedImage[]> {
  const spec = /^(oci|oci-archive):/.test(opts.source) ? parseSourceSpec(opts.source) : undefined;
  if (spec?.transport !== "oci" && spec?.transport !== "oci-archive") {
    throw new UsageError(`import source "${opts.source}" must be oci:DIR or oci-archive:FILE`);
  }
  if (spec.tag !== undefined) {
    throw new UsageError(
      `import source "${opts.source}": imports the whole layout; drop ":${spec.tag}"`,
    );
  }
  const layout = await openLayout(spec);
  try {
    const entries = await layout.entries();
    // An incremental bundle (lib/bundle/incremental.ts): its base must be in the store
    // before anything is written; omitted objects are then read from the store.
    const record = await readRecord(layout, `import source "${opts.source}"`);
    if (record) await checkBase(opts.store, record, opts.source);
    const open = openWithBase(layout, opts.store, record);
    const sourceOf = (d: Descriptor, label: string): Source => ({
      description: `${opts.source} (${label})`,
      resolve: () => Promise.resolve(d),
      open,
      related: () => Promise.resolve(entries.filter((e) => e.digest !== d.digest)),
      close: () => Promise.resolve(),
    });
    opts.onPass?.("plan");
    const plans = await plan(opts, entries, sourceOf);
    opts.onPass?.("stage");
    const staged = [];
    const progress = opts.progress ?? noProgress;
    const blobs = new Map(
      plans.flatMap((p) => [...p.image.blobs.values()].map((d) => [d.digest, d])),
    );
    progress.start({ blobs: blobs.size, bytes: sum(blobs.values()), items: [...blobs.values()] });
    try {
      for (const p of plans) {
        staged.push(
          await stageImage(p.source, opts.store, p.image, `import ${p.label}`, 4, progress),
        );
      }
    } finally {
      progress.stop();
    }
    const results: ImportedImage[] = [];
    opts.onPass?.("tag");
    for (const [i, p] of plans.entries()) {
      const r = { ...await tag(opts, p), ...staged[i] };
      results.push(r);
      opts.onImage?.(r);
    }
    return results;
  } finally {
    await layout.close();
  }
}

/** Pass 1: every image read, verified and checked; nothing written. */
async function plan(
  opts: ImportOptions,
  entries: Descriptor[],
  sourceOf: (d: Descriptor, label: string) => Source,
): Promise<Planned[]> {
  const named = entries.flatMap((d) => {
    const dest = destination(d, opts.repo);
    return dest ? [{ d, dest, label: describeDestination(dest, d.digest) }] : [];
  });
  if (named.length === 0) {
    throw new UsageError(
      `import source "${opts.source}": no entry names an image (io.containerd.image.name), ` +
        "and --repo was not given to name tagged entries",
    );
  }
  const claimed = new Map<string, string>(); // name:tag → digest
  const plans: Planned[] = [];
  for (const { d, dest, label } of named) {
    if (dest.tag === undefined) {
      const why = nameProblem(dest.name);
      if (why) throw new UsageError(`repository name "${dest.name}": ${why}`);
    } else {
      checkDestination(dest.name, dest.tag);
      const other = claimed.get(label);
      if (other !== undefined && other !== d.digest) {
        throw new UsageError(
          `import source "${opts.source}": index.json names ${label} twice (${other}, ${d.digest})`,
        );
      }
      claimed.set(label, d.digest);
    }
    const source = sourceOf(d, label);
    const image = await collectImage(source);
    // The tag only shapes the message here: an untagged image's entries are the same.
    const update = indexUpdate(dest.name, dest.tag ?? "<untagged>", image);
    await planIndexes(opts.store, dest.name, update);
    plans.push({ dest, label, source, image, update });
  }
  await ensureMarker(opts.store);
  return plans;
}

/** Pass 3: the image's tag index and the catalog (its objects are all in the store). */
async function tag(opts: ImportOptions, p: Planned): Promise<ImportedImage> {
  const { name, tag } = p.dest;
  if (tag !== undefined) {
    return await publish({ source: p.source, store: opts.store, name, tag, log: opts.log });
  }
  // The staged objects pass the gc barrier before the tag index names them (a tagged
  // image's publish() above does the same).
  const guard = guardStaged({
    store: opts.store,
    source: p.source,
    image: p.image,
    log: opts.log ?? silentLogger,
    what: `import ${name}@${p.image.root.digest}`,
  }, () => opts.store.lock(repoLockName(name)));
  const changed = await addUntagged(opts.store, name, p.update, guard.acquire);
  await guard.after();
  return {
    name,
    digest: p.image.root.digest,
    mediaType: p.image.root.mediaType,
    manifests: p.image.manifests.length,
    manifestsWritten: 0,
    blobsCopied: 0,
    blobsSkipped: 0,
    bytesCopied: 0,
    bytesSkipped: 0,
    referrers: p.image.manifests.filter((m) => m.info.subject).length,
    attachedTags: [],
    ...changed,
  };
}
