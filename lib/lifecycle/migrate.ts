/**
 * @module
 * `migrate`: upgrades a store from layout version 1 to 2 (docs/LAYOUT.md §"Versioning"),
 * in place and while servers of this build serve it. Version 2's catalog records each
 * repository's tag-index digest, so a server's refresh reads only what changed.
 *
 * Order, each step under the lock its document is written under, all under
 * `lock("catalog")`:
 * 1. read the catalog and every tag index it lists (16 at a time); a listed repository
 *    without a tag index refuses the migration before anything is written (a damaged
 *    store: `check` says more);
 * 2. under `lock("marker")`, the marker goes to version 2 (other fields kept): from here
 *    on publishers of builds before version 2 refuse the store before they write anything,
 *    and servers of those builds keep their last index and log the refusal;
 * 3. read every tag index again, conditionally (a 304 keeps step 1's digest), and write
 *    the version-2 catalog.
 * Why twice: a publisher of this build whose plan saw version 1 with its repository
 * listed takes no catalog lock. After its tag-index write it reads the marker
 * (lib/publish/indexes.ts recordIfMigrated): if it reads 1, its write came before step 2
 * and step 3 reads it; if 2, it waits for the catalog lock and records its own digest.
 * Either way the catalog names the last index; digests from step 1 alone could name an
 * older one forever (a server rereads only what the catalog says changed). Killed
 * between 2 and 3, the store is marker 2 with catalog 1, which this build serves and
 * publishes to as version 1; a rerun finishes it.
 */
import pMap from "p-map";
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";
import { CATALOG_KEY, MARKER_KEY, repoIndexKey } from "../layout/keys.ts";
import { readDocument, writeDocument } from "../layout/documents.ts";
import { validateCatalog, validateMarker } from "../layout/rules.ts";
import { catalogNames, tagIndexDigest } from "../layout/catalog.ts";
import { type CatalogV2, record } from "../layout/schema.ts";
import { CATALOG_LOCK, withLock } from "../publish/indexes.ts";
import { MARKER_LOCK } from "../publish/marker.ts";
import type { WriteStore } from "../store/store.ts";

export interface MigrateOptions {
  store: WriteStore;
  /** Report what would change; write nothing, take no lock. */
  dryRun?: boolean;
  log?: Logger;
}

export interface MigrateReport {
  store: string;
  /** The layout version found (the catalog's; the marker's when there is no catalog). */
  from: number;
  to: 2;
  repositories: number;
  /** Whether anything was (or, in a dry run, would be) written. */
  changed: boolean;
  dryRun: boolean;
}

/** Upgrades `store` to layout version 2; a store already there is left as it is. */
export async function migrate(opts: MigrateOptions): Promise<MigrateReport> {
  const { store } = opts;
  const log = opts.log ?? silentLogger;
  const marker = await readDocument(store, MARKER_KEY, validateMarker);
  if (!marker) {
    throw new Error(`${store.location} is not a static-registry store (no ${MARKER_KEY})`);
  }
  const report = (from: number, repositories: number, changed: boolean): MigrateReport => ({
    store: store.location,
    from,
    to: 2,
    repositories,
    changed,
    dryRun: opts.dryRun ?? false,
  });
  const peek = await readDocument(store, CATALOG_KEY, validateCatalog);
  const from = peek?.version ?? marker.version;
  if (from === 2 && marker.version === 2) {
    return report(2, peek ? catalogNames(peek).length : 0, false);
  }
  if (opts.dryRun) return report(from, peek ? catalogNames(peek).length : 0, true);

  return await withLock(() => store.lock(CATALOG_LOCK), async () => {
    const catalog = await readDocument(store, CATALOG_KEY, validateCatalog);
    const names = catalog ? catalogNames(catalog) : [];
    const repositories = record<string>();
    if (catalog?.version === 2) Object.assign(repositories, catalog.repositories);
    const first = catalog?.version === 2 ? [] : await digestIndexes(store, names);
    await withLock(() => store.lock(MARKER_LOCK), async () => {
      const current = await readDocument(store, MARKER_KEY, validateMarker);
      if (current?.version === 2) return;
      await writeDocument(store, MARKER_KEY, { ...current ?? marker, version: 2 }, validateMarker);
    });
    if (catalog?.version !== 2) {
      const second = await digestIndexes(store, names, first);
      names.forEach((name, i) => repositories[name] = second[i].digest);
      const next: CatalogV2 = { version: 2, repositories };
      await writeDocument(store, CATALOG_KEY, next, validateCatalog);
    }
    log.info({ store: store.location, repositories: names.length }, "migrated to layout version 2");
    return report(from, names.length, true);
  });
}

/** A tag index's digest, and the etag it was read with. */
interface Digested {
  digest: string;
  etag?: string;
}

/**
 * The digest of each of `names`' tag indexes, 16 reads at a time; with `known` (the
 * previous pass), reads conditionally and keeps a digest whose index is unchanged.
 * Throws, naming it, for a listed repository without a tag index.
 */
function digestIndexes(
  store: WriteStore,
  names: string[],
  known: Digested[] = [],
): Promise<Digested[]> {
  return pMap(names, async (name, i) => {
    const key = repoIndexKey(name);
    const res = await store.read(key, { etag: known[i]?.etag });
    if (res.status === "not-modified") return known[i];
    if (res.status !== "ok") {
      throw new Error(
        `migrate ${store.location}: the catalog lists "${name}" but "${key}" is missing; ` +
          (known.length
            ? "the marker says version 2, the catalog is unchanged (rerun migrate)"
            : "nothing was changed (run check to see what else is)"),
      );
    }
    return { digest: tagIndexDigest(res.bytes), etag: res.meta.etag };
  }, { concurrency: 16 });
}
