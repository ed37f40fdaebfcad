/**
 * @module
 * `index.load: "on-demand"` (lib/index/held.ts): a load reads the marker and the catalog
 * only; a repository's tag index is read at its first request (one read for concurrent
 * ones) and held in an LRU bounded by bytes; a refresh re-reads only what is held; a tag
 * index that cannot be read is 503 UNAVAILABLE, never "unknown", and is not read again
 * per request.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../../lib/log.ts";
import { Registry } from "../../lib/index/registry.ts";
import { MEMORY_PER_BYTE, RETRY_MS } from "../../lib/index/held.ts";
import { CATALOG_KEY, MARKER_KEY, repoIndexKey } from "../../lib/layout/keys.ts";
import { OciError } from "../../lib/oci/errors.ts";
import { DirStore } from "../../lib/store/dir.ts";
import type { ReadResult, ReadStore } from "../../lib/store/store.ts";
import { RecordingStore } from "../helpers/recording_store.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { publishFrom, withTemp } from "../publish/helpers.ts";

/** Counts reads per key; can hide keys ("not found") or be down (every read throws). */
class ScriptedStore extends RecordingStore {
  hidden = new Set<string>();
  down = false;
  protected override answer(key: string, opts?: { etag?: string }): Promise<ReadResult> {
    if (this.down) return Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:9"));
    if (this.hidden.has(key)) return Promise.resolve({ status: "missing" });
    return this.inner.read(key, opts);
  }
}

const tick = () => new Promise((r) => setTimeout(r, 10));

async function storeWith(tmp: string, n: number) {
  await makeOciLayout(`${tmp}/src`, { tag: "v1", layers: 1 });
  await makeOciLayout(`${tmp}/src2`, { tag: "v2", layers: 1, seed: "second" });
  const dir = new DirStore(`${tmp}/store`);
  for (let i = 0; i < n; i++) await publishFrom(`oci:${tmp}/src:v1`, dir, `repo${i}`, "v1");
  return dir;
}

function onDemand(store: ReadStore, cacheBytes = 1 << 20) {
  return new Registry(store, { log: silentLogger, index: { load: "on-demand", cacheBytes } });
}

Deno.test("on demand: a load reads two documents; a repository is read once, at its first request", () =>
  withTemp(async (tmp) => {
    const store = new ScriptedStore(await storeWith(tmp, 6));
    const registry = onDemand(store);
    await registry.load();
    assert.deepEqual(store.take(), [MARKER_KEY, CATALOG_KEY]);
    assert.equal(registry.repositories().length, 6, "every listed repository is served");
    assert.equal(registry.repo("repo3"), undefined, "nothing held yet");
    assert.equal(registry.lookup("nope"), undefined, "not listed: unknown, no read");
    assert.deepEqual(store.take(), []);

    const first = registry.lookup("repo3");
    const second = registry.lookup("repo3");
    assert.ok(first instanceof Promise && second instanceof Promise);
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a, b);
    assert.ok(a.tagDigest("v1"));
    assert.deepEqual(store.take(), [repoIndexKey("repo3")], "one read for both requests");
    assert.equal(registry.lookup("repo3"), a, "held: answered without a promise");
    assert.equal(registry.status().tags, 1, "tags counts what is held");
    assert.deepEqual(store.take(), []);
  }));

Deno.test("on demand: a refresh re-reads only what is held; others show their change when asked", () =>
  withTemp(async (tmp) => {
    const dir = await storeWith(tmp, 5);
    const store = new ScriptedStore(dir);
    const registry = onDemand(store);
    await registry.load();
    await registry.lookup("repo1");
    store.take();
    await registry.refresh();
    assert.deepEqual(store.take(), [MARKER_KEY, CATALOG_KEY], "unchanged: two reads");

    await tick();
    await publishFrom(`oci:${tmp}/src2:v2`, dir, "repo1", "v2");
    await publishFrom(`oci:${tmp}/src2:v2`, dir, "repo4", "v2");
    await registry.refresh();
    assert.deepEqual(store.take(), [MARKER_KEY, CATALOG_KEY, repoIndexKey("repo1")]);
    assert.ok(registry.repo("repo1")!.tagDigest("v2"), "the held one is current");
    const later = await registry.lookup("repo4");
    assert.ok(later!.tagDigest("v2"), "the one not held is read as it is now");
    assert.deepEqual(store.take(), [repoIndexKey("repo4")]);

    await tick();
    await publishFrom(`oci:${tmp}/src:v1`, dir, "fresh", "v1");
    await registry.refresh();
    assert.ok(registry.repositories().includes("fresh"));
    assert.deepEqual(
      store.take(),
      [MARKER_KEY, CATALOG_KEY],
      "a new repository costs no tag-index read until asked",
    );
  }));

Deno.test("on demand: what is held stays within cacheBytes (least recently used goes)", () =>
  withTemp(async (tmp) => {
    const store = new ScriptedStore(await storeWith(tmp, 8));
    const size = (await store.read(repoIndexKey("repo0"))).status === "ok"
      ? ((await store.read(repoIndexKey("repo0"))) as { bytes: Uint8Array }).bytes.byteLength
      : 0;
    assert.ok(size > 0);
    // Counted as MEMORY_PER_BYTE × the document (what one takes parsed): room for three.
    const registry = onDemand(store, Math.ceil(size * MEMORY_PER_BYTE) * 3);
    await registry.load();
    for (let i = 0; i < 8; i++) await registry.lookup(`repo${i}`);
    const held = Array.from({ length: 8 }, (_, i) => registry.repo(`repo${i}`) !== undefined);
    assert.deepEqual(held, [false, false, false, false, false, true, true, true]);
    store.take();
    await registry.lookup("repo0");
    assert.deepEqual(store.take(), [repoIndexKey("repo0")], "an evicted one is read again");
    assert.equal(registry.repo("repo5"), undefined, "and pushed the oldest out");
  }));

Deno.test("on demand: a store that is down serves what is held; the rest is 503, read once per interval", () =>
  withTemp(async (tmp) => {
    const store = new ScriptedStore(await storeWith(tmp, 3));
    const registry = onDemand(store);
    await registry.load();
    const held = await registry.lookup("repo0");
    store.down = true;
    store.take();
    assert.equal(await registry.refresh(), false);
    assert.equal(registry.lookup("repo0"), held, "held: served while the store is down");
    for (let i = 0; i < 3; i++) {
      await assert.rejects(Promise.resolve(registry.lookup("repo1")), (e) => {
        assert.ok(e instanceof OciError);
        assert.equal(e.code, "UNAVAILABLE");
        assert.equal(e.status, 503);
        assert.equal(e.headers?.["Retry-After"], "5");
        assert.match(
          e.message,
          /the tag index of repo1 cannot be read now: the store cannot be reached/,
        );
        assert.ok(!e.message.includes("127.0.0.1"), "the store's error is logged, not answered");
        return true;
      });
    }
    assert.deepEqual(
      store.take().filter((k) => k !== MARKER_KEY),
      [repoIndexKey("repo1")],
      `one read per ${RETRY_MS} ms`,
    );
    store.down = false;
    assert.equal(await registry.refresh(), true);
    assert.ok((await registry.lookup("repo1"))!.tagDigest("v1"), "served once the store is back");
  }));

Deno.test("on demand: a listed repository whose tag index is missing is 503 and in /readyz; a dropped one is unknown", () =>
  withTemp(async (tmp) => {
    const dir = await storeWith(tmp, 3);
    const store = new ScriptedStore(dir);
    const registry = onDemand(store);
    await registry.load();
    const key = repoIndexKey("repo2");
    store.hidden.add(key);
    await assert.rejects(Promise.resolve(registry.lookup("repo2")), (e) => {
      assert.ok(e instanceof OciError && e.code === "UNAVAILABLE", String(e));
      assert.match(e.message, /its tag index answered "not found"/);
      return true;
    });
    assert.deepEqual(
      registry.status().problems.map((p) => [p.key, p.kind, p.serving]),
      [[key, "missing", "nothing"]],
    );
    store.hidden.delete(key);
    await registry.refresh(); // forgets the failure
    assert.ok(await registry.lookup("repo2"));
    assert.deepEqual(registry.status().problems, [], "cleared by the good read");

    // The catalog no longer lists repo2 (a delete): unknown, and no longer held.
    const catalog = JSON.parse(new TextDecoder().decode(
      ((await dir.read(CATALOG_KEY)) as { bytes: Uint8Array }).bytes,
    ));
    delete catalog.repositories.repo2;
    await tick();
    await dir.write(CATALOG_KEY, new TextEncoder().encode(JSON.stringify(catalog) + "\n"), {
      contentType: "application/json",
      cacheControl: "no-store",
    });
    await registry.refresh();
    assert.equal(registry.lookup("repo2"), undefined);
    assert.equal(registry.repo("repo2"), undefined);
  }));
