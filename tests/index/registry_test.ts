/**
 * @module
 * Registry: load, conditional refresh, keeping the last good index, rejecting malformed
 * documents, and the verified manifest cache.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../../lib/log.ts";
import { Registry } from "../../lib/index/registry.ts";
import { CATALOG_KEY, MARKER_KEY, repoIndexKey } from "../../lib/layout/layout.ts";
import { OciError } from "../../lib/oci/errors.ts";
import type { ReadResult, ReadStore } from "../../lib/store/store.ts";
import { type Fixture, makeFixture, putDoc } from "../server/fixture.ts";

/** Wraps a store, recording every read's key and outcome; can be made to fail. */
class SpyStore implements ReadStore {
  reads: [string, ReadResult["status"]][] = [];
  failing = false;
  constructor(private inner: ReadStore) {}
  get location() {
    return this.inner.location;
  }
  async read(key: string, opts?: { etag?: string }): Promise<ReadResult> {
    if (this.failing) throw new Error("connection refused");
    const r = await this.inner.read(key, opts);
    this.reads.push([key, r.status]);
    return r;
  }
  stat(key: string) {
    return this.inner.stat(key);
  }
}

async function withFixture(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const f = await makeFixture();
  try {
    await fn(f);
  } finally {
    await f.cleanup();
  }
}

/** Rewrites a document with a different mtime+size, so the dir store's etag changes. */
async function rewrite(f: Fixture, key: string, doc: unknown): Promise<void> {
  await new Promise((r) => setTimeout(r, 5));
  await putDoc(f.store, key, doc);
}

Deno.test("Registry.load() reads the catalog and every tag index", () =>
  withFixture(async (f) => {
    const r = new Registry(f.store, { log: silentLogger });
    assert.equal(r.ready, false);
    await r.load();
    assert.deepEqual(r.repositories(), ["library/alpine", "many", "other/repo"]);
    const alpine = r.repo("library/alpine")!;
    assert.equal(alpine.tagDigest("latest"), f.alpine.digest);
    assert.deepEqual(alpine.sortedTags, ["3.20", "latest", "multi"]);
    assert.equal(alpine.tagDigest("constructor"), undefined);
    assert.equal(alpine.referencedSize(f.layer.digest), 1000);
    assert.equal(alpine.referencedSize(f.otherLayer.digest), undefined);
    assert.deepEqual(
      alpine.referrers(f.alpine.digest).map((d) => d.digest).sort(),
      [f.sig.digest, f.sbom.digest].sort(),
    );
    assert.equal(r.repo("nope"), undefined);
    const s = r.status();
    assert.equal(s.ready, true);
    assert.equal(s.repositories, 3);
    assert.equal(s.tags, 29);
    assert.equal(s.lastError, null);
    assert.ok(s.loadedAt && s.lastRefresh);
  }));

Deno.test("Registry.load() refuses a directory that is not a store, or another layout version", () =>
  withFixture(async (f) => {
    const empty = await Deno.makeTempDir();
    try {
      const { DirStore } = await import("../../lib/store/dir.ts");
      await assert.rejects(
        new Registry(new DirStore(empty), { log: silentLogger }).load(),
        /is not a static-registry store \(no static-registry\.json\)/,
      );
    } finally {
      await Deno.remove(empty, { recursive: true });
    }
    await putDoc(f.store, MARKER_KEY, { layout: "static-registry", version: 3 });
    const r = new Registry(f.store, { log: silentLogger });
    await assert.rejects(r.load(), /static-registry\.json.*version 3/);
    assert.match(r.status().lastError!.message, /version 3/, "a failed load is reported");
    assert.equal(r.ready, false);
    assert.equal(await r.refresh(), false, "refresh after a failed load retries and fails");
    await putDoc(f.store, MARKER_KEY, { layout: "static-registry", version: 1 });
    assert.equal(await r.refresh(), true, "refresh after a failed load loads");
    assert.equal(r.ready, true);
    assert.ok(r.status().loadedAt);
  }));

// Issue 9 (isolation) changed what a bad tag index does: it no longer fails the load but
// skips that repository and reports it, naming the key and the field, in status().problems.
// A bad catalog still fails the load (store-level). Same documents, same expected reasons.
Deno.test("Registry.load() rejects malformed documents, naming the key", async (t) => {
  const key = repoIndexKey("other/repo");
  const bad: [string, string, unknown, RegExp][] = [
    ["not JSON", key, "{", /other\/repo\/_index\.json.*not JSON/],
    [
      "wrong name",
      key,
      { version: 1, name: "x", tags: {}, manifests: {}, blobs: {} },
      /name "x" is not "other\/repo"/,
    ],
    ["tag to a missing manifest", key, {
      version: 1,
      name: "other/repo",
      tags: { v1: `sha256:${"0".repeat(64)}` },
      manifests: {},
      blobs: {},
    }, /tags\[v1\].*not a held manifest/],
    ["bad digest key", key, {
      version: 1,
      name: "other/repo",
      tags: {},
      manifests: {},
      blobs: { "sha256:../../x": 1 },
    }, /blobs\[sha256:\.\.\/\.\.\/x\].*not a digest/],
    ["negative size", key, {
      version: 1,
      name: "other/repo",
      tags: {},
      manifests: {},
      blobs: { [`sha256:${"1".repeat(64)}`]: -1 },
    }, /size -1 invalid/],
    ["manifests not an object", key, {
      version: 1,
      name: "other/repo",
      tags: {},
      manifests: [],
      blobs: {},
    }, /manifests: not an object/],
    [
      "bad catalog name",
      CATALOG_KEY,
      { version: 1, repositories: ["ok", "../etc"] },
      /catalog\.json.*repositories\[1\]/,
    ],
    ["catalog version", CATALOG_KEY, { version: 9, repositories: [] }, /catalog\.json.*version 9/],
  ];
  for (const [what, k, doc, want] of bad) {
    await t.step(what, () =>
      withFixture(async (f) => {
        if (typeof doc === "string") {
          await f.store.write(k, new TextEncoder().encode(doc), {
            contentType: "",
            cacheControl: "",
          });
        } else await putDoc(f.store, k, doc);
        const r = new Registry(f.store, { log: silentLogger });
        if (k === CATALOG_KEY) {
          await assert.rejects(r.load(), want);
          return;
        }
        await r.load();
        assert.deepEqual(r.repositories(), ["library/alpine", "many"], "the others are served");
        assert.equal(r.repo("other/repo"), undefined);
        const [p, ...more] = r.status().problems;
        assert.deepEqual(more, []);
        assert.equal(p.key, k);
        assert.equal(p.repository, "other/repo");
        assert.equal(p.kind, "rejected");
        assert.equal(p.serving, "nothing");
        assert.match(p.reason, want);
      }));
  }
});

Deno.test("Registry.load() skips a catalog entry whose tag index is missing", () =>
  withFixture(async (f) => {
    await Deno.remove(f.store.pathOf(repoIndexKey("many")));
    const r = new Registry(f.store, { log: silentLogger });
    await r.load();
    assert.deepEqual(r.repositories(), ["library/alpine", "other/repo"]);
  }));

Deno.test("Registry.refresh() uses conditional reads: unchanged documents are not-modified", () =>
  withFixture(async (f) => {
    const spy = new SpyStore(f.store);
    const r = new Registry(spy, { log: silentLogger });
    await r.load();
    assert.ok(spy.reads.every(([, s]) => s === "ok"));
    spy.reads = [];
    assert.equal(await r.refresh(), true);
    assert.equal(spy.reads.length, 5, "marker, catalog, three indexes");
    assert.ok(spy.reads.every(([, s]) => s === "not-modified"), JSON.stringify(spy.reads));
    const before = r.repo("library/alpine");
    assert.equal(r.repo("many"), r.repo("many"));

    // Publishing a tag to one repository rewrites only its index.
    const idx = JSON.parse(await Deno.readTextFile(f.store.pathOf(repoIndexKey("other/repo"))));
    idx.tags.v2 = idx.tags.v1;
    await rewrite(f, repoIndexKey("other/repo"), idx);
    spy.reads = [];
    assert.equal(await r.refresh(), true);
    assert.deepEqual(spy.reads.filter(([, s]) => s === "ok").map(([k]) => k), [
      repoIndexKey("other/repo"),
    ]);
    assert.deepEqual(r.repo("other/repo")!.sortedTags, ["v1", "v2"]);
    assert.equal(r.repo("library/alpine"), before, "unchanged repositories keep their view");
    assert.equal(r.status().tags, 30);
  }));

Deno.test("Registry.refresh() keeps the last good index on failure and reports it", () =>
  withFixture(async (f) => {
    const spy = new SpyStore(f.store);
    const r = new Registry(spy, { log: silentLogger });
    await r.load();
    await rewrite(f, repoIndexKey("other/repo"), {
      version: 1,
      name: "other/repo",
      tags: { v1: "nope" },
      manifests: {},
      blobs: {},
    });
    // Issue 9 (isolation): a bad tag index is that repository's problem, not a failed
    // refresh: it keeps its last good version and is reported in status().problems.
    assert.equal(await r.refresh(), true);
    let s = r.status();
    assert.equal(s.lastError, null);
    assert.equal(s.problems.length, 1);
    assert.match(s.problems[0].reason, /repositories\/other\/repo\/_index\.json.*tags\[v1\]/);
    assert.equal(s.problems[0].serving, "last-good");
    assert.equal(s.refreshFailures, 0);
    assert.equal(r.repo("other/repo")!.tagDigest("v1"), f.other.digest, "old index still served");

    spy.failing = true;
    assert.equal(await r.refresh(), false, "an unreachable store does not throw");
    assert.match(r.status().lastError!.message, /connection refused/);
    assert.equal(r.status().refreshFailures, 1);
    assert.equal(r.repositories().length, 3);

    spy.failing = false;
    const idx = JSON.parse(await Deno.readTextFile(f.store.pathOf(repoIndexKey("many"))));
    await rewrite(f, repoIndexKey("other/repo"), { ...idx, name: "other/repo" });
    assert.equal(await r.refresh(), true);
    s = r.status();
    assert.equal(s.lastError, null);
    assert.deepEqual(s.problems, []);
    assert.equal(s.refreshFailures, 1);
    assert.equal(r.repo("other/repo")!.sortedTags.length, 25);
  }));

Deno.test("Registry.startRefresh() picks up changes on its interval and stops", () =>
  withFixture(async (f) => {
    const r = new Registry(f.store, { log: silentLogger });
    await r.load();
    r.startRefresh(20);
    try {
      await rewrite(f, CATALOG_KEY, { version: 1, repositories: ["many"] });
      const deadline = Date.now() + 3000;
      while (r.repositories().length !== 1 && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 10));
      }
      assert.deepEqual(r.repositories(), ["many"]);
      // Restarting while refreshes are in flight leaves one timer chain; after stop,
      // none (Deno's sanitizer fails the test on a leaked timer).
      for (let i = 0; i < 5; i++) {
        r.startRefresh(1);
        await new Promise((res) => setTimeout(res, 3));
      }
    } finally {
      r.stopRefresh();
      await r.refresh();
      await new Promise((res) => setTimeout(res, 10));
    }
  }));

Deno.test("Registry.manifest() verifies bytes against the digest and caches them", () =>
  withFixture(async (f) => {
    const spy = new SpyStore(f.store);
    const r = new Registry(spy, { log: silentLogger });
    await r.load();
    spy.reads = [];
    const [a, b] = await Promise.all([r.manifest(f.alpine.digest), r.manifest(f.alpine.digest)]);
    assert.deepEqual(a, f.alpine.bytes);
    assert.equal(a, b);
    assert.equal(await r.manifest(f.alpine.digest), a);
    assert.equal(spy.reads.length, 1, "one store read for concurrent and repeated requests");
    assert.equal(await r.manifest(`sha256:${"0".repeat(64)}`), undefined);

    // Corrupt another manifest in the store: it must not be served.
    await Deno.writeFile(f.store.pathOf(`blobs/sha256/${f.other.digest.slice(7)}`), f.alpine.bytes);
    await assert.rejects(
      r.manifest(f.other.digest),
      (e) => e instanceof OciError && e.code === "INTERNAL" && e.message.includes(f.alpine.digest),
    );
  }));
