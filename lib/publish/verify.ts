/**
 * @module
 * `verifyStore()`: the layout's consistency promise, checked. For every repository in the
 * catalog: its tag index exists and passes the server's rules (lib/layout/rules.ts: every
 * tag names a manifest the index lists, every digest is valid); every listed manifest is
 * stored with the right size and digest and parses with the recorded media type; every
 * child manifest is listed and every referenced blob is stored with the recorded size.
 * Used by the crash-safety tests and by `check`.
 */
import { parseManifest } from "../oci/mediatypes.ts";
import { digestOf, DigestVerifier } from "../oci/digest.ts";
import { blobKey, CATALOG_KEY, MARKER_KEY, repoIndexKey } from "../layout/keys.ts";
import { readDocument } from "../layout/documents.ts";
import { validateCatalog, validateMarker, validateRepoIndex } from "../layout/rules.ts";
import type { Catalog } from "../layout/schema.ts";
import { bodyStream, isStreamStore, type ReadStore } from "../store/store.ts";
import { catalogDigest, catalogNames, tagIndexDigest } from "../layout/catalog.ts";

/** One thing wrong, with the key it concerns. */
export interface StoreProblem {
  key: string;
  message: string;
}

export interface VerifyOptions {
  /** Also stream every blob and check its digest (slow; needs a StreamStore). */
  deep?: boolean;
}

/** Lists every inconsistency; an empty list means every tag is fully pullable. */
export async function verifyStore(
  store: ReadStore,
  opts: VerifyOptions = {},
): Promise<StoreProblem[]> {
  const problems: StoreProblem[] = [];
  const problem = (key: string, message: string) => problems.push({ key, message });
  const attempt = async (key: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      problem(key, (e as Error).message);
    }
  };

  // The documents are read with the server's own rules (lib/layout): a document the
  // server would refuse is a problem here too.
  let catalog: Catalog | null | undefined;
  await attempt(CATALOG_KEY, async () => {
    catalog = await readDocument(store, CATALOG_KEY, validateCatalog);
  });
  if (catalog === null) return problems; // nothing published yet
  await attempt(MARKER_KEY, async () => {
    const marker = await readDocument(store, MARKER_KEY, validateMarker);
    if (!marker) throw new Error("marker missing although repositories are published");
  });
  const repositories = catalog ? catalogNames(catalog) : [];

  const checkedManifests = new Map<string, string | null>(); // digest → problem or null
  const checkedBlobs = new Map<string, string | null>();
  for (const name of repositories) {
    const key = repoIndexKey(name);
    await attempt(key, async () => {
      const index = await readDocument(store, key, (v) => validateRepoIndex(v, name));
      if (!index) throw new Error(`catalog lists "${name}" but its tag index is missing`);
      const recorded = catalog ? catalogDigest(catalog, name) : undefined;
      if (recorded !== undefined) await checkRecorded(store, name, recorded, problem);
      for (const [digest, entry] of Object.entries(index.manifests)) {
        if (!checkedManifests.has(digest)) {
          checkedManifests.set(
            digest,
            await manifestProblem(store, digest, entry.mediaType, entry.size),
          );
        }
        const why = checkedManifests.get(digest);
        if (why) problem(key, why);
        for (const child of entry.children ?? []) {
          if (!index.manifests[child]) {
            problem(key, `manifest ${digest}: child ${child} not in manifests`);
          }
        }
        for (const blob of entry.blobs ?? []) {
          const size = index.blobs[blob];
          if (size === undefined) {
            problem(key, `manifest ${digest}: blob ${blob} not in blobs`);
            continue;
          }
          if (!checkedBlobs.has(blob)) {
            checkedBlobs.set(blob, await blobProblem(store, blob, size, opts));
          }
          const bwhy = checkedBlobs.get(blob);
          if (bwhy) problem(key, bwhy);
        }
      }
    });
  }
  return problems;
}

async function manifestProblem(
  store: ReadStore,
  digest: string,
  mediaType: string,
  size: number,
): Promise<string | null> {
  const r = await store.read(blobKey(digest));
  if (r.status !== "ok") return `manifest ${digest}: missing from the store`;
  if (r.bytes.byteLength !== size) {
    return `manifest ${digest}: stored size ${r.bytes.byteLength}, index says ${size}`;
  }
  const actual = digestOf(r.bytes, digest.startsWith("sha512:") ? "sha512" : "sha256");
  if (actual !== digest) return `manifest ${digest}: stored content has digest ${actual}`;
  try {
    parseManifest(r.bytes, mediaType);
  } catch (e) {
    return `manifest ${digest}: ${(e as Error).message}`;
  }
  return null;
}

async function blobProblem(
  store: ReadStore,
  digest: string,
  size: number,
  opts: VerifyOptions,
): Promise<string | null> {
  const p = await objectProblem(store, digest, size, { deep: opts.deep, streamOnly: true });
  return p && `blob ${digest}: ${p.reason}`;
}

/** What is wrong with one stored object (`check` without origins): a kind and a reason. */
export interface ObjectProblem {
  kind: "missing" | "size" | "digest";
  reason: string;
}

/**
 * Whether `store` holds object `digest` (a blob or a manifest: both live at
 * `blobs/<alg>/<hex>`) with `size` bytes, and with `deep` whether its bytes hash to
 * `digest` (read as a stream where the store can, else whole; `streamOnly` skips the hash
 * for a store that cannot stream). Null when all is well; store failures throw.
 *
 * @example
 * ```ts
 * const p = await objectProblem(store, "sha256:…", 1234, { deep: true });
 * if (p) console.log(p.kind, p.reason); // "digest", "content digest is sha256:…"
 * ```
 */
export async function objectProblem(
  store: ReadStore,
  digest: string,
  size: number,
  opts: { deep?: boolean; streamOnly?: boolean } = {},
): Promise<ObjectProblem | null> {
  const key = blobKey(digest);
  const meta = await store.stat(key);
  const missing = { kind: "missing", reason: "missing from the store" } as const;
  if (!meta) return missing;
  if (meta.size !== size) {
    return { kind: "size", reason: `stored size ${meta.size}, index says ${size}` };
  }
  if (!opts.deep || (opts.streamOnly && !isStreamStore(store))) return null;
  const v = new DigestVerifier(digest, size);
  if (isStreamStore(store)) {
    const opened = await store.open(key);
    if (!opened) return missing;
    for await (const chunk of bodyStream(opened.body)) v.update(chunk);
  } else {
    const r = await store.read(key);
    if (r.status !== "ok") return missing;
    v.update(r.bytes);
  }
  try {
    v.check("blob");
  } catch (e) {
    const why = (e as Error).message.replace(`blob ${digest}: `, "");
    return { kind: /size/.test(why) ? "size" : "digest", reason: why };
  }
  return null;
}

/**
 * Layout version 2: the catalog's digest for `name` is its tag index's (docs/LAYOUT.md
 * §"catalog.json"); a server trusting a wrong one would not see that repository change.
 */
async function checkRecorded(
  store: ReadStore,
  name: string,
  recorded: string,
  problem: (key: string, why: string) => void,
): Promise<void> {
  const key = repoIndexKey(name);
  const res = await store.read(key);
  if (res.status !== "ok") return; // reported by the caller's read
  const actual = tagIndexDigest(res.bytes);
  if (actual !== recorded) {
    problem(CATALOG_KEY, `records ${recorded} for "${name}", but its tag index has ${actual}`);
  }
}
