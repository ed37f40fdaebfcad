/**
 * @module
 * `migrate`: upgrades a store from layout version 1 to 2 (docs/LAYOUT.md §"Versioning"),
 * in place and while servers of this build serve it. Version 2's catalog records each
 * repository's tag-index digest, so a server's refresh reads only what changed.
 *
 * Order, each step under the lock its document is written under:
 * 1. under `lock("catalog")`, read the catalog and every tag index it lists (16 at a time)
 *    and digest them; a listed repository without a tag index refuses the migration
 *    before anything is written (a damaged store: `check` says more);
 * 2. under `lock("marker")`, the marker goes to version 2 (other fields kept): from here
 *    on publishers of builds before version 2 refuse the store before they write anything,
 *    and servers of those builds keep their last index and log the refusal;
 * 3. still under the catalog lock, the version-2 catalog is written.
 * A publisher of this build that writes a tag index meanwhile waits for the catalog lock
 * and then records its index's digest in the version-2 catalog (lib/publish/indexes.ts
 * digests the index under that lock). Killed between 2 and 3, the store is marker 2 with
 * catalog 1, which this build serves and publishes to as version 1; a rerun finishes it.
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
    else {
      const digests = await pMap(names, async (name) => {
        const key = repoIndexKey(name);
        const res = await store.read(key);
        if (res.status !== "ok") {
          throw new Error(
            `migrate ${store.location}: the catalog lists "${name}" but "${key}" is missing; ` +
              "nothing was changed (run check to see what else is)",
          );
        }
        return tagIndexDigest(res.bytes);
      }, { concurrency: 16 });
      names.forEach((name, i) => repositories[name] = digests[i]);
    }
    await withLock(() => store.lock(MARKER_LOCK), async () => {
      const current = await readDocument(store, MARKER_KEY, validateMarker);
      if (current?.version === 2) return;
      await writeDocument(store, MARKER_KEY, { ...current ?? marker, version: 2 }, validateMarker);
    });
    const next: CatalogV2 = { version: 2, repositories };
    if (catalog?.version !== 2) await writeDocument(store, CATALOG_KEY, next, validateCatalog);
    log.info({ store: store.location, repositories: names.length }, "migrated to layout version 2");
    return report(from, names.length, true);
  });
}
