/**
 * The refresh rows' stores (bench/refresh_store.ts): the v2 catalog names the digest of the
 * exact bytes of each tag index, and s3rver serves a tree written into its data directory
 * as if it had been uploaded (bytes, ETag = MD5, conditional read → not modified).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as path from "node:path";
import { makeRefreshStore, repoName } from "../../bench/refresh_store.ts";
import { startS3rver } from "../helpers/s3rver.ts";
import { S3Store } from "../../lib/store/s3.ts";
import { CATALOG_KEY, MARKER_KEY, repoIndexKey } from "../../lib/layout/keys.ts";
import { digestOf } from "../../lib/oci/digest.ts";
import { encodeDocument } from "../../lib/layout/documents.ts";

const json = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b));

Deno.test("makeRefreshStore() v2 catalog holds the digest of each tag index's exact bytes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "refresh-store-" });
  try {
    const store = await makeRefreshStore({ kind: "dir", dir }, 3);
    const file = (key: string) => Deno.readFile(path.join(dir, key));
    assert.deepEqual(json(await file(CATALOG_KEY)), {
      version: 1,
      repositories: [repoName(0), repoName(1), repoName(2)],
    });
    assert.equal(json(await file(MARKER_KEY)).version, 1);

    await store.setVersion(2);
    const marker = json(await file(MARKER_KEY));
    assert.equal(marker.layout, "static-registry");
    assert.equal(marker.version, 2);
    assert.match(marker.id, /^[0-9a-f-]{36}$/);
    const catalog = json(await file(CATALOG_KEY));
    assert.equal(catalog.version, 2);
    const names = Object.keys(catalog.repositories);
    assert.deepEqual(names, [...names].sort());
    for (const name of names) {
      assert.equal(catalog.repositories[name], digestOf(await file(repoIndexKey(name))));
    }

    // A change to the probe repository is picked up by the next catalog.
    const key = repoIndexKey(store.probe);
    const index = json(await file(key));
    index.tags["new"] = store.manifest.digest;
    await Deno.writeFile(path.join(dir, key), encodeDocument(index)); // as a publish would
    await store.setVersion(2);
    const after = json(await file(CATALOG_KEY));
    assert.equal(after.repositories[store.probe], digestOf(await file(key)));
    assert.notEqual(after.repositories[store.probe], catalog.repositories[store.probe]);
    assert.equal(json(await file(MARKER_KEY)).id, marker.id, "one store, one id");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("makeRefreshStore() into s3rver's data directory is served as uploaded objects", async () => {
  const s3 = await startS3rver("bench");
  let s3store: S3Store | undefined;
  try {
    const store = await makeRefreshStore(
      { kind: "s3rver", dataDir: s3.dataDir, bucket: "bench", prefix: "r2" },
      2,
    );
    await store.setVersion(2);
    s3store = new S3Store({ bucket: "bench", prefix: "r2", ...s3.options });
    const key = repoIndexKey(store.probe);
    const res = await s3store.read(key);
    assert.equal(res.status, "ok");
    if (res.status !== "ok") return;
    const bytes = await store.read(key);
    assert.deepEqual(res.bytes, bytes);
    const md5 = createHash("md5").update(bytes).digest("hex");
    assert.equal(res.meta.etag, `"${md5}"`);
    assert.equal(res.meta.contentType, "application/json");
    assert.equal((await s3store.read(key, { etag: res.meta.etag })).status, "not-modified");
    const catalog = await s3store.read(CATALOG_KEY);
    assert.equal(catalog.status, "ok");
    if (catalog.status === "ok") {
      assert.equal(json(catalog.bytes).repositories[store.probe], digestOf(bytes));
    }
    const marker = await s3store.read(MARKER_KEY);
    assert.equal(marker.status === "ok" && json(marker.bytes).version, 2);
  } finally {
    s3store?.close();
    await s3.stop();
  }
});
