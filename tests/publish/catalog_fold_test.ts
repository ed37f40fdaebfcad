/**
 * @module
 * lib/publish/catalog_fold.ts: layout-v2 publishers of different repositories have their
 * tag-index digests recorded by whoever holds the catalog lock, instead of each taking it
 * in turn; every digest lands, no request is left, and a request left by a publisher that
 * died is recorded by the next holder.
 */
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { makeOciLayout } from "../helpers/image.ts";
import { DirStore } from "../../lib/store/dir.ts";
import type { LockOptions } from "../../lib/store/store.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { CatalogRecorder, PENDING_PREFIX, recordPending } from "../../lib/publish/catalog_fold.ts";
import { repoIndexKey } from "../../lib/layout/keys.ts";
import { catalogDigest, tagIndexDigest } from "../../lib/layout/catalog.ts";
import { readDocument } from "../../lib/layout/documents.ts";
import { validateCatalog } from "../../lib/layout/rules.ts";
import { publishFrom, withTemp } from "./helpers.ts";

/** A store whose catalog lock costs what an S3 lease does (the settle delay), counted. */
class SlowLockStore extends DirStore {
  catalogLocks = 0;
  override async lock(name: string, opts?: LockOptions): Promise<() => Promise<void>> {
    if (name !== "catalog") return await super.lock(name, opts);
    const release = await super.lock(name, opts);
    try {
      await delay(400, undefined, { signal: opts?.signal });
    } catch (e) {
      await release();
      throw e;
    }
    this.catalogLocks++;
    return release;
  }
}

async function pending(store: DirStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(PENDING_PREFIX)) keys.push(o.key);
  return keys;
}

Deno.test("v2: concurrent publishers of different repositories are recorded by the lock's holder", () =>
  withTemp(async (tmp) => {
    const N = 6;
    const store = new SlowLockStore(`${tmp}/store`);
    for (let i = 0; i < N; i++) {
      await makeOciLayout(`${tmp}/a${i}`, { tag: "v1", seed: `a${i}`, layers: 1 });
      await makeOciLayout(`${tmp}/b${i}`, { tag: "v1", seed: `b${i}`, layers: 1 });
      await publishFrom(`oci:${tmp}/a${i}:v1`, store, `r${i}`, "v1");
    }
    store.catalogLocks = 0;
    await Promise.all(
      Array.from({ length: N }, (_, i) => publishFrom(`oci:${tmp}/b${i}:v1`, store, `r${i}`, "v2")),
    );
    // Taken one after the other, N publishes would take the lock N times; the holder
    // records the others' requests (how many waited depends on timing, never all N).
    assert.ok(store.catalogLocks < N, `catalog lock taken ${store.catalogLocks} times for ${N}`);
    assert.deepEqual(await pending(store), [], "every request was recorded and removed");
    assert.deepEqual(await verifyStore(store), [], "every catalog digest is its tag index's");
    const catalog = (await readDocument(store, "catalog.json", validateCatalog))!;
    for (let i = 0; i < N; i++) {
      const res = await store.read(repoIndexKey(`r${i}`));
      assert.equal(res.status, "ok");
      if (res.status === "ok") {
        assert.equal(catalogDigest(catalog, `r${i}`), tagIndexDigest(res.bytes));
      }
    }
  }));

Deno.test("v2: a request left by a publisher that died is recorded by the next holder", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    await makeOciLayout(`${tmp}/a`, { tag: "v1", layers: 1 });
    await makeOciLayout(`${tmp}/b`, { tag: "v1", seed: "b", layers: 1 });
    await publishFrom(`oci:${tmp}/a:v1`, store, "team/x", "v1");
    await publishFrom(`oci:${tmp}/a:v1`, store, "y", "v1");
    // A publisher wrote team/x's new index and its request, then died.
    const before = await store.read(repoIndexKey("team/x"));
    await publishFrom(`oci:${tmp}/b:v1`, store, "team/x", "v2");
    const recorded = (await readDocument(store, "catalog.json", validateCatalog))!;
    const release = await store.lock("catalog");
    try {
      if (before.status !== "ok") throw new Error("no index");
      // Put the catalog back to the old digest, as if the dead publisher never recorded.
      const stale = { ...recorded, repositories: { ...recorded.repositories } } as typeof recorded;
      if (stale.version === 2) stale.repositories["team/x"] = tagIndexDigest(before.bytes);
      await store.write("catalog.json", new TextEncoder().encode(JSON.stringify(stale) + "\n"), {
        contentType: "application/json",
        cacheControl: "no-store",
      });
      await store.write(
        `${PENDING_PREFIX}team~x.00000000-0000-4000-8000-000000000000`,
        new Uint8Array(),
        {
          contentType: "application/json",
          cacheControl: "no-store",
        },
      );
    } finally {
      await release();
    }
    assert.notDeepEqual(await verifyStore(store), [], "the catalog is behind its tag index");
    // The next publish, of another repository, holds the lock and records both.
    await publishFrom(`oci:${tmp}/b:v1`, store, "y", "v2");
    assert.deepEqual(await pending(store), []);
    assert.deepEqual(await verifyStore(store), []);
    const release2 = await store.lock("catalog");
    try {
      assert.equal(await recordPending(store), false, "nothing left to record");
    } finally {
      await release2();
    }
  }));

/** A directory store that counts reads of catalog.json. */
class CatalogReadsStore extends DirStore {
  catalogReads = 0;
  override read(key: string, opts?: Parameters<DirStore["read"]>[1]) {
    if (key === "catalog.json") this.catalogReads++;
    return super.read(key, opts);
  }
}

Deno.test("v2: a publish reads the catalog twice (the plan, then the holder), not three times", () =>
  withTemp(async (tmp) => {
    const store = new CatalogReadsStore(`${tmp}/store`);
    await makeOciLayout(`${tmp}/a`, { tag: "v1", layers: 1 });
    await makeOciLayout(`${tmp}/b`, { tag: "v1", seed: "b", layers: 1 });
    await publishFrom(`oci:${tmp}/a:v1`, store, "team/x", "v1");
    store.catalogReads = 0;
    // A changed tag index in an existing repository: the catalog's digest changes.
    await publishFrom(`oci:${tmp}/b:v1`, store, "team/x", "v2");
    // The plan's read (unlocked) already knows the version; the holder re-reads under the
    // lock, as it must. A third read (choosing the path again) is a wasted GET per publish.
    assert.equal(store.catalogReads, 2);
    assert.deepEqual(await verifyStore(store), []);
  }));

/**
 * One publisher's view of a shared directory store (a process of its own would have its
 * own instance): counts what it does under the catalog lock.
 */
class ServingCountStore extends DirStore {
  pendingLists = 0;
  catalogReads = 0;
  catalogWrites = 0;
  override list(prefix: string) {
    if (prefix === PENDING_PREFIX) this.pendingLists++;
    return super.list(prefix);
  }
  override read(key: string, opts?: Parameters<DirStore["read"]>[1]) {
    if (key === "catalog.json") this.catalogReads++;
    return super.read(key, opts);
  }
  override write(...args: Parameters<DirStore["write"]>) {
    if (args[0] === "catalog.json") this.catalogWrites++;
    return super.write(...args);
  }
  /** A removal that takes as long as a DELETE round trip to a distant store. */
  removeMs = 0;
  override async remove(key: string) {
    await delay(this.removeMs);
    return super.remove(key);
  }
}

Deno.test("CatalogRecorder: the holder that took the lock ahead serves a publisher that announced itself, which never serves", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    await makeOciLayout(`${tmp}/a`, { tag: "v1", layers: 1 });
    await makeOciLayout(`${tmp}/b`, { tag: "v1", seed: "b", layers: 1 });
    await publishFrom(`oci:${tmp}/a:v1`, store, "x", "v1");
    await publishFrom(`oci:${tmp}/a:v1`, store, "y", "v1");
    const held: string[] = [];
    const taker = (who: string, s: DirStore) => async (signal: AbortSignal) => {
      const release = await s.lock("catalog", { signal });
      held.push(who);
      return release;
    };
    const storeA = new ServingCountStore(`${tmp}/store`);
    storeA.removeMs = 40; // a release that did not wait for the removals would free the lock first
    // b retries the lock every few ms (a lock timeout of 1 ms, retried), sooner than its
    // 25 ms poll of its request: it usually wins the lock as soon as a releases, the race
    // CI met once in a run (2026-12-03). Without either half of the fix this test failed
    // every run (6/6 and 3/3).
    const storeB = new ServingCountStore(`${tmp}/store`, { lockTimeoutMs: 1 });
    const eager = (signal: AbortSignal) =>
      (async () => {
        for (;;) {
          try {
            return await storeB.lock("catalog", { signal });
          } catch (e) {
            if (signal.aborted) throw e;
          }
        }
      })().then((release) => (held.push("b"), release));
    const a = new CatalogRecorder(storeA, "x", taker("a", storeA));
    const b = new CatalogRecorder(storeB, "y", eager);
    a.start(); // both copying, both taking the lock ahead: a gets it
    await delay(50);
    b.start();
    await delay(50);
    assert.deepEqual(held, ["a"]);
    // a finishes first: its own tag index, then its recording; it must not release yet,
    // b has announced a request (its intent) and would otherwise take the lock after it.
    await store.write(repoIndexKey("x"), await indexBytes(store, "x", "v2"), JSON_OPTS);
    let aDone = false;
    const aRecord = a.record().then((r) => (aDone = true, r));
    await delay(200);
    assert.equal(aDone, false, "the holder lingers while another publisher is announced");
    await store.write(repoIndexKey("y"), await indexBytes(store, "y", "v2"), JSON_OPTS);
    assert.equal(await b.record(), true);
    assert.equal(await aRecord, true);
    assert.equal(held[0], "a");
    // b's lock attempts keep running until it sees its request gone; one may win the lock
    // just as a releases (a directory lock is one link(2)), but then b finds its request
    // recorded and releases without serving: no listing, no catalog read or write.
    assert.deepEqual(
      { lists: storeB.pendingLists, reads: storeB.catalogReads, writes: storeB.catalogWrites },
      { lists: 0, reads: 0, writes: 0 },
      `b was recorded by a and never served (locks taken: ${held.join(", ")})`,
    );
    assert.ok(storeA.catalogWrites >= 1, "a wrote the catalog (its own index, then b's)");
    assert.deepEqual(await pending(store), [], "requests and intents are gone");
    assert.deepEqual(await verifyStore(store), [], "both digests recorded");
    // The lock is free again.
    await (await store.lock("catalog", { signal: AbortSignal.timeout(2000) }))();
  }));

Deno.test("CatalogRecorder: an announced publisher that dies keeps the holder at most LINGER_MS, and its intent is removed", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    await makeOciLayout(`${tmp}/a`, { tag: "v1", layers: 1 });
    await publishFrom(`oci:${tmp}/a:v1`, store, "x", "v1");
    // A dead publisher's intent.
    await store.write(
      `${PENDING_PREFIX}z.00000000-0000-4000-8000-000000000000.intent`,
      new Uint8Array(),
      JSON_OPTS,
    );
    const a = new CatalogRecorder(store, "x", (signal) => store.lock("catalog", { signal }));
    a.start();
    await store.write(repoIndexKey("x"), await indexBytes(store, "x", "v2"), JSON_OPTS);
    const t0 = performance.now();
    await a.record();
    const took = performance.now() - t0;
    assert.ok(took >= 2500 && took < 6000, `held ${took} ms for a dead intent`);
    assert.deepEqual(await pending(store), []);
    assert.deepEqual(await verifyStore(store), []);
  }));

const JSON_OPTS = { contentType: "application/json", cacheControl: "no-store" } as const;

/** Repository `name`'s tag index with one more tag (a new document, as a publish writes). */
async function indexBytes(store: DirStore, name: string, tag: string): Promise<Uint8Array> {
  const res = await store.read(repoIndexKey(name));
  if (res.status !== "ok") throw new Error(`no index for ${name}`);
  const index = JSON.parse(new TextDecoder().decode(res.bytes));
  index.tags[tag] = Object.values(index.tags)[0];
  return new TextEncoder().encode(JSON.stringify(index) + "\n");
}

/**
 * A directory store that records the requests written under `.catalog/pending/`, and can
 * order a race: once armed, the first read of `key` runs `meanwhile` before it returns,
 * and listings wait for that (at most 500 ms, so a pass that reads nothing goes on).
 */
class PendingStore extends DirStore {
  requestsWritten: string[] = [];
  #gate?: { key: string; meanwhile: () => Promise<void>; done: PromiseWithResolvers<void> };
  arm(key: string, meanwhile: () => Promise<void>): void {
    this.#gate = { key, meanwhile, done: Promise.withResolvers() };
  }
  override write(key: string, bytes: Uint8Array, meta: Parameters<DirStore["write"]>[2]) {
    if (key.startsWith(PENDING_PREFIX) && !key.endsWith(".intent")) this.requestsWritten.push(key);
    return super.write(key, bytes, meta);
  }
  override async read(key: string, opts?: Parameters<DirStore["read"]>[1]) {
    const res = await super.read(key, opts);
    const g = this.#gate;
    if (g && key === g.key) {
      this.#gate = undefined;
      await g.meanwhile();
      g.done.resolve();
    }
    return res;
  }
  override async *list(prefix: string) {
    const g = this.#gate;
    if (g) await Promise.race([g.done.promise, delay(500)]);
    yield* super.list(prefix);
  }
}

Deno.test("CatalogRecorder: a holder records its own tag index without writing a request", () =>
  withTemp(async (tmp) => {
    const store = new PendingStore(`${tmp}/store`);
    await makeOciLayout(`${tmp}/a`, { tag: "v1", layers: 1 });
    await publishFrom(`oci:${tmp}/a:v1`, store, "x", "v1");
    store.requestsWritten = [];
    const a = new CatalogRecorder(store, "x", (signal) => store.lock("catalog", { signal }));
    a.start();
    await delay(100); // the lock is held: what a lock taken ahead of the index write is
    await store.write(repoIndexKey("x"), await indexBytes(store, "x", "v2"), JSON_OPTS);
    assert.equal(await a.record(), true);
    assert.deepEqual(store.requestsWritten, [], "no request: the holder's own loop recorded it");
    assert.deepEqual(await pending(store), [], "its intent is gone");
    assert.deepEqual(await verifyStore(store), [], "its digest is recorded");
  }));

Deno.test("CatalogRecorder: a holder's own index read before a listed request of the same repository is read again", () =>
  withTemp(async (tmp) => {
    const store = new PendingStore(`${tmp}/store`);
    await makeOciLayout(`${tmp}/a`, { tag: "v1", layers: 1 });
    await publishFrom(`oci:${tmp}/a:v1`, store, "x", "v1");
    const a = new CatalogRecorder(store, "x", (signal) => store.lock("catalog", { signal }));
    a.start();
    await delay(100);
    await store.write(repoIndexKey("x"), await indexBytes(store, "x", "v2"), JSON_OPTS);
    // Right after the holder's read of its own index (v2), another publisher of x writes
    // v3 and its request, which the same pass lists: v3 must be what is recorded.
    const v3 = await indexBytes(store, "x", "v3");
    store.arm(repoIndexKey("x"), async () => {
      await store.write(repoIndexKey("x"), v3, JSON_OPTS);
      await store.write(
        `${PENDING_PREFIX}x.00000000-0000-4000-8000-000000000001`,
        new Uint8Array(),
        JSON_OPTS,
      );
    });
    assert.equal(await a.record(), true);
    const catalog = (await readDocument(store, "catalog.json", validateCatalog))!;
    assert.equal(catalogDigest(catalog, "x"), tagIndexDigest(v3), "the later index is recorded");
    assert.deepEqual(await pending(store), []);
    assert.deepEqual(await verifyStore(store), []);
  }));

/** A directory store whose intent removals take `intentRemoveMs`, stamped when done. */
class SlowIntentRemovalStore extends DirStore {
  intentRemoveMs = 300;
  /** When each intent's removal was done, by repository (the key's `<name>.` prefix). */
  intentsRemovedAt = new Map<string, number>();
  override async remove(key: string) {
    if (!key.endsWith(".intent")) return await super.remove(key);
    await delay(this.intentRemoveMs);
    await super.remove(key);
    const name = key.slice(PENDING_PREFIX.length, key.indexOf(".", PENDING_PREFIX.length));
    this.intentsRemovedAt.set(name, performance.now());
  }
}

Deno.test("CatalogRecorder: a holder releases without waiting for recorded publishers' intents to go, and does not linger on them", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    await makeOciLayout(`${tmp}/a`, { tag: "v1", layers: 1 });
    await publishFrom(`oci:${tmp}/a:v1`, store, "x", "v1");
    await publishFrom(`oci:${tmp}/a:v1`, store, "y", "v1");
    const storeA = new SlowIntentRemovalStore(`${tmp}/store`);
    let releasedAt = Infinity;
    const a = new CatalogRecorder(storeA, "x", async (signal) => {
      const release = await storeA.lock("catalog", { signal });
      return async () => {
        await release();
        releasedAt = performance.now();
      };
    });
    const b = new CatalogRecorder(store, "y", (signal) => store.lock("catalog", { signal }));
    a.start(); // a holds the lock
    await delay(50);
    b.start(); // b announced (its intent), waiting for the lock
    await delay(50);
    // b is recorded first, while a is still copying: its intent's removal (slow) begins
    // then, and a's later passes list that intent until it lands.
    await store.write(repoIndexKey("y"), await indexBytes(store, "y", "v2"), JSON_OPTS);
    assert.equal(await b.record(), true);
    await delay(20);
    await store.write(repoIndexKey("x"), await indexBytes(store, "x", "v2"), JSON_OPTS);
    assert.equal(await a.record(), true);
    // a removed b's intent with b's request, and its own.
    assert.deepEqual([...storeA.intentsRemovedAt.keys()].sort(), ["x", "y"]);
    // Released before b's intent's removal landed: it neither awaited that removal nor
    // lingered on b's intent while later passes still listed it (either releases after:
    // each mutation was checked to fail this, 2/2 runs, by 0-26 ms; the code passes with
    // ~250 ms to spare).
    const bGone = storeA.intentsRemovedAt.get("y")!;
    assert.ok(
      releasedAt < bGone,
      `released ${(releasedAt - bGone).toFixed(0)} ms after b's intent was removed`,
    );
    assert.deepEqual(await pending(store), [], "requests and intents are gone when a returns");
    assert.deepEqual(await verifyStore(store), [], "both digests recorded");
  }));
