/**
 * @module
 * Incremental bundles: `export --since BUNDLE` writes only the objects (blobs and
 * manifests) that the far side, which imported BUNDLE, does not hold yet, and records
 * what it omitted; `import` of such a bundle first checks that the store holds every
 * omitted object with its size, and refuses before writing anything otherwise.
 *
 * The record is a small JSON blob of the bundle (`blobs/sha256/…`, so the bundle stays a
 * valid OCI image layout), named by the index.json annotation {@link BUNDLE_ANNOTATION}:
 *
 * ```json
 * { "mediaType": "application/vnd.static-registry.bundle.v1+json",
 *   "since": "oci-archive:monday.tar",
 *   "buildsOn": [{ "digest": "sha256:…", "size": 1234 }],
 *   "holds": [{ "digest": "sha256:…", "size": 99 }] }
 * ```
 *
 * `buildsOn` are the objects the bundle's images reference and the bundle omits; `holds`
 * the objects it carries. What the far side holds after importing a bundle is therefore
 * `buildsOn ∪ holds` for an incremental one, and for a full one (no record; also a layout
 * written by skopeo or oras) every object its index.json entries reach, read with the
 * publisher's walker (lib/publish/collect.ts). That is the set `--since` omits.
 *
 * `--since` trusts that BUNDLE was imported; the import-side check is what makes a wrong
 * guess safe: a bundle built on something the store lacks is refused, naming the first
 * missing object and how many are missing. An incremental bundle is only for
 * `static-registry import` into a store that holds its base: other tools reading it find
 * the omitted objects missing.
 */
import { Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { UsageError } from "../cli/usage.ts";
import { blobKey } from "../layout/keys.ts";
import { digestOf, digestProblem, DigestVerifier } from "../oci/digest.ts";
import type { Descriptor } from "../oci/mediatypes.ts";
import { collectImage } from "../publish/collect.ts";
import { eachLimit, present } from "../publish/copy.ts";
import { openLayout } from "../sources/open.ts";
import type { OciLayoutSource } from "../sources/oci_layout.ts";
import type { Source, SourceBlob } from "../sources/source.ts";
import { parseSourceSpec } from "../sources/spec.ts";
import { bodyStream, isStreamStore, type ReadStore, type WriteStore } from "../store/store.ts";

/** The index.json annotation naming the record blob of an incremental bundle. */
export const BUNDLE_ANNOTATION = "io.github.static-registry.bundle";
export const RECORD_MEDIA_TYPE = "application/vnd.static-registry.bundle.v1+json";
/** A record larger than this is not one we wrote (≈100 bytes an object). */
const RECORD_MAX = 64 * 1024 * 1024;

const ObjectRef = Type.Object({
  digest: Type.String(),
  size: Type.Integer({ minimum: 0 }),
});
const RecordSchema = Type.Object({
  mediaType: Type.Literal(RECORD_MEDIA_TYPE),
  since: Type.String(),
  buildsOn: Type.Array(ObjectRef),
  holds: Type.Array(ObjectRef),
});
const checkRecord = TypeCompiler.Compile(RecordSchema);

/** digest → size. */
export type Objects = Map<string, number>;

/** The record of an incremental bundle. */
export interface BundleRecord {
  since: string;
  buildsOn: Objects;
  holds: Objects;
}

/** Opens `oci:DIR` / `oci-archive:FILE` as a layout, refusing other transports. */
async function openBundle(text: string, what: string): Promise<OciLayoutSource> {
  const spec = /^(oci|oci-archive):/.test(text) ? parseSourceSpec(text) : undefined;
  if ((spec?.transport !== "oci" && spec?.transport !== "oci-archive") || spec.tag) {
    throw new UsageError(`${what} "${text}" must be oci:DIR or oci-archive:FILE (no :TAG)`);
  }
  return await openLayout(spec);
}

/**
 * What the far side holds once it imported bundle `text` (see the module doc).
 *
 * @example
 * ```ts
 * const held = await heldAfter("oci-archive:monday.tar"); // Map digest → size
 * ```
 */
export async function heldAfter(text: string): Promise<Objects> {
  const layout = await openBundle(text, "--since");
  try {
    const record = await readRecord(layout, `--since "${text}"`);
    if (record) return new Map([...record.buildsOn, ...record.holds]);
    const held: Objects = new Map();
    for (const d of await layout.entries()) {
      const image = await collectImage(entrySource(layout, d));
      for (const m of image.manifests) held.set(m.descriptor.digest, m.descriptor.size);
      for (const b of image.blobs.values()) held.set(b.digest, b.size);
    }
    return held;
  } finally {
    await layout.close();
  }
}

/**
 * One index.json entry of `layout` as a publish Source. No related manifests: every entry
 * (referrers included) is walked on its own, so asking each for the others would read
 * every manifest once per entry.
 */
function entrySource(layout: OciLayoutSource, d: Descriptor): Source {
  return {
    description: `${layout.description} (${d.digest})`,
    resolve: () => Promise.resolve(d),
    open: (digest) => layout.open(digest),
    related: () => Promise.resolve([]),
    close: () => Promise.resolve(),
  };
}

/**
 * Splits the objects an export references into those to write and those `held` already
 * has (same digest and size; a size that disagrees is written, never assumed).
 */
export function omitHeld(objects: Objects, held: Objects): { write: Objects; omit: Objects } {
  const write: Objects = new Map();
  const omit: Objects = new Map();
  for (const [digest, size] of objects) {
    (held.get(digest) === size ? omit : write).set(digest, size);
  }
  return { write, omit };
}

/** The record blob of a bundle built on `since`, and the index.json annotations naming it. */
export function encodeRecord(
  since: string,
  buildsOn: Objects,
  holds: Objects,
): { digest: string; bytes: Uint8Array; annotations: Record<string, string> } {
  const list = (m: Objects) => [...m].sort().map(([digest, size]) => ({ digest, size }));
  const bytes = new TextEncoder().encode(
    JSON.stringify({
      mediaType: RECORD_MEDIA_TYPE,
      since,
      buildsOn: list(buildsOn),
      holds: list(holds),
    }) + "\n",
  );
  const digest = digestOf(bytes);
  return { digest, bytes, annotations: { [BUNDLE_ANNOTATION]: digest } };
}

/**
 * `--since` writes a new bundle: a layout directory that exists already is refused (its
 * index.json would mix entries built on different bases under one record).
 */
export async function assertNewTarget(kind: "oci" | "oci-archive", dir: string): Promise<void> {
  if (kind !== "oci") return;
  const st = await fs.stat(path.join(dir, "index.json")).catch(() => null);
  if (st) {
    throw new UsageError(
      `export --since: target "oci:${dir}" already holds a layout; an incremental bundle ` +
        "is written to a new directory or an oci-archive file",
    );
  }
}

/** The record of bundle `layout`, or undefined for a full bundle. `what` starts errors. */
export async function readRecord(
  layout: OciLayoutSource,
  what: string,
): Promise<BundleRecord | undefined> {
  const digest = (await layout.annotations())[BUNDLE_ANNOTATION];
  if (digest === undefined) return undefined;
  const where = `${what}: index.json annotation ${BUNDLE_ANNOTATION}`;
  const why = typeof digest === "string" ? digestProblem(digest) : "not a string";
  if (why !== null) throw new Error(`${where}: ${JSON.stringify(digest)}: ${why}`);
  const d = digest as string;
  const blob = await layout.open(d);
  if (blob.size > RECORD_MAX) throw new Error(`${where}: record ${d} is ${blob.size} bytes`);
  const bytes = new Uint8Array(await new Response(blob.body).arrayBuffer());
  const v = new DigestVerifier(d, blob.size);
  v.update(bytes);
  v.check("bundle record");
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${where}: record ${d} is not JSON (${(e as Error).message})`);
  }
  if (!checkRecord.Check(doc)) {
    const err = checkRecord.Errors(doc).First();
    throw new Error(`${where}: record ${d}: ${err?.path || "/"}: ${err?.message}`);
  }
  const toMap = (list: { digest: string; size: number }[], field: string) => {
    const m: Objects = new Map();
    for (const [i, o] of list.entries()) {
      const bad = digestProblem(o.digest);
      if (bad) throw new Error(`${where}: record ${d}: ${field}[${i}] "${o.digest}": ${bad}`);
      m.set(o.digest, o.size);
    }
    return m;
  };
  return {
    since: doc.since,
    buildsOn: toMap(doc.buildsOn, "buildsOn"),
    holds: toMap(doc.holds, "holds"),
  };
}

/**
 * Refuses to import bundle `label` unless `store` holds every object it builds on, with
 * its size. Nothing is written either way.
 */
export async function checkBase(store: WriteStore, record: BundleRecord, label: string) {
  const missing: string[] = [];
  await eachLimit([...record.buildsOn], 8, async ([digest, size]) => {
    if (!(await present(store, { digest, size, mediaType: "" }))) missing.push(digest);
  });
  if (missing.length === 0) return;
  missing.sort();
  const first = missing[0];
  throw new Error(
    `import source "${label}" is an incremental bundle built on ${record.since}: the store ` +
      `${store.location} lacks ${missing.length} of the ${record.buildsOn.size} object(s) it ` +
      `builds on (first: ${first}, ${record.buildsOn.get(first)} bytes); import ` +
      `${record.since} (and what it builds on) first, or export a full bundle; nothing was written`,
  );
}

/**
 * A Source `open` that reads the objects a bundle builds on from the store (where
 * {@link checkBase} found them) and everything else from the bundle.
 */
export function openWithBase(
  layout: OciLayoutSource,
  store: ReadStore,
  record: BundleRecord | undefined,
): (digest: string) => Promise<SourceBlob> {
  if (!record) return (digest) => layout.open(digest);
  return async function open(digest: string): Promise<SourceBlob> {
    if (!record.buildsOn.has(digest)) return await layout.open(digest);
    const key = blobKey(digest);
    if (isStreamStore(store)) {
      const o = await store.open(key);
      if (o) return { body: bodyStream(o.body), size: o.size };
    } else {
      const r = await store.read(key);
      if (r.status === "ok") {
        return { body: new Blob([r.bytes as BlobPart]).stream(), size: r.bytes.byteLength };
      }
    }
    throw new Error(`store ${store.location}: ${digest}, which the bundle builds on, is missing`);
  };
}
