/**
 * @module
 * publish(): what lands in the store, in which order, with which metadata, and how a
 * second publish (same image, new tag, other repository) shares what is there.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { makeOciLayout } from "../helpers/image.ts";
import { DirStore } from "../../lib/store/dir.ts";
import {
  blobKey,
  CACHE_IMMUTABLE,
  CACHE_INDEX,
  type CatalogV2,
  type RepoIndex,
} from "../../lib/layout/layout.ts";
import { DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST } from "../../lib/oci/mediatypes.ts";
import { UsageError } from "../../lib/cli/usage.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { publishFrom, readDoc, RecordingStore, withTemp } from "./helpers.ts";
import { tagIndexDigest } from "../../lib/layout/catalog.ts";

const INDEX_KEY = "repositories/demo/hello/_index.json";
const indexDigest = async (tmp: string) =>
  tagIndexDigest(await Deno.readFile(`${tmp}/store/${INDEX_KEY}`));

Deno.test("publish() copies a single-platform OCI image and tags it", () =>
  withTemp(async (tmp) => {
    const img = await makeOciLayout(`${tmp}/src`, { tag: "v1", layers: 3 });
    const store = new DirStore(`${tmp}/store`);
    const r = await publishFrom(`oci:${tmp}/src:v1`, store, "demo/hello", "v1");
    assert.equal(r.digest, img.rootDigest);
    assert.equal(r.mediaType, OCI_MANIFEST);
    assert.equal(r.blobsCopied, 4); // config + 3 layers
    assert.equal(r.blobsSkipped, 0);
    assert.equal(r.manifestsWritten, 1);
    const index = await readDoc<RepoIndex>(`${tmp}/store`, INDEX_KEY);
    assert.deepEqual(index.tags, { v1: img.rootDigest });
    assert.deepEqual(index.manifests[img.rootDigest], {
      mediaType: OCI_MANIFEST,
      size: img.rootSize,
      blobs: img.manifests[0].blobs,
    });
    for (const d of img.blobs) assert.equal(index.blobs[d], img.sizes[d]);
    // A new store is layout version 2: the catalog records the tag index's digest.
    assert.deepEqual(await readDoc(`${tmp}/store`, "catalog.json"), {
      version: 2,
      repositories: { "demo/hello": await indexDigest(tmp) },
    });
    // The first publish gives the store its identity (docs/LAYOUT.md §"Marker").
    const marker = await readDoc<Record<string, unknown>>(`${tmp}/store`, "static-registry.json");
    assert.deepEqual(Object.keys(marker), ["layout", "version", "id", "created"]);
    assert.deepEqual([marker.layout, marker.version], ["static-registry", 2]);
    assert.match(
      String(marker.id),
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    assert.equal(new Date(String(marker.created)).toISOString(), marker.created);
    assert.deepEqual(await verifyStore(store, { deep: true }), []);
  }));

const MARKER = "static-registry.json";

Deno.test("publish() copies a 2-platform index with every child, in write order", () =>
  withTemp(async (tmp) => {
    const img = await makeOciLayout(`${tmp}/src`, {
      platforms: [{ os: "linux", architecture: "amd64" }, {
        os: "linux",
        architecture: "arm64",
        variant: "v8",
      }],
    });
    const store = new RecordingStore(`${tmp}/store`);
    const r = await publishFrom(`oci:${tmp}/src`, store, "demo/hello", "latest");
    assert.equal(r.mediaType, OCI_INDEX);
    assert.equal(r.manifests, 3);
    assert.equal(r.blobsCopied, 6);
    const keys = store.writes.map((w) => w.key);
    const at = (k: string) => keys.indexOf(k);
    // The marker (a new store's id) is written while the blobs copy, before any document
    // names them (lib/publish/marker.ts checkMarker).
    const firstDocument = keys.findIndex((k) => !k.startsWith("blobs/") && k !== MARKER);
    assert.ok(at(MARKER) >= 0 && at(MARKER) < firstDocument, keys.join("\n"));
    const manifestKeys = [...img.manifests.map((m) => blobKey(m.digest)), blobKey(img.rootDigest)];
    const firstManifest = Math.min(...manifestKeys.map(at));
    for (const d of img.blobs) assert.ok(at(blobKey(d)) < firstManifest, `blob ${d} first`);
    for (const m of img.manifests) assert.ok(at(blobKey(m.digest)) < at(blobKey(img.rootDigest)));
    assert.deepEqual(keys.slice(-2), [INDEX_KEY, "catalog.json"]);
    // Metadata: manifests carry their media type, everything content-addressed is immutable.
    for (const w of store.writes) {
      if (w.key.startsWith("blobs/")) assert.equal(w.meta.cacheControl, CACHE_IMMUTABLE);
      else assert.equal(w.meta.cacheControl, CACHE_INDEX);
    }
    const rootWrite = store.writes.find((w) => w.key === blobKey(img.rootDigest))!;
    assert.equal(rootWrite.meta.contentType, OCI_INDEX);
    const layerWrite = store.writes.find((w) =>
      w.key === blobKey(img.manifests[0].layers[0].digest)
    )!;
    assert.equal(layerWrite.meta.contentType, "application/octet-stream");
    const index = await readDoc<RepoIndex>(`${tmp}/store`, INDEX_KEY);
    assert.deepEqual(index.manifests[img.rootDigest].children, img.manifests.map((m) => m.digest));
    assert.deepEqual(await verifyStore(store, { deep: true }), []);
  }));

Deno.test("publish() keeps Docker media types (manifest list + schema 2)", () =>
  withTemp(async (tmp) => {
    const img = await makeOciLayout(`${tmp}/src`, {
      format: "docker",
      platforms: [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }],
    });
    const store = new RecordingStore(`${tmp}/store`);
    const r = await publishFrom(`oci:${tmp}/src:latest`, store, "demo/hello", "latest");
    assert.equal(r.mediaType, DOCKER_LIST);
    const index = await readDoc<RepoIndex>(`${tmp}/store`, INDEX_KEY);
    assert.equal(index.manifests[img.rootDigest].mediaType, DOCKER_LIST);
    assert.equal(index.manifests[img.manifests[1].digest].mediaType, DOCKER_MANIFEST);
    const w = store.writes.find((w) => w.key === blobKey(img.manifests[1].digest))!;
    assert.equal(w.meta.contentType, DOCKER_MANIFEST);
    assert.deepEqual(await verifyStore(store), []);
  }));

Deno.test("publish() of the same image again copies nothing and rewrites nothing", () =>
  withTemp(async (tmp) => {
    await makeOciLayout(`${tmp}/src`, { layers: 3 });
    const store = new RecordingStore(`${tmp}/store`);
    await publishFrom(`oci:${tmp}/src`, store, "demo/hello", "latest");
    store.writes = [];
    const r = await publishFrom(`oci:${tmp}/src`, store, "demo/hello", "latest");
    assert.equal(r.blobsCopied, 0);
    assert.equal(r.blobsSkipped, 4);
    assert.equal(r.manifestsWritten, 0);
    assert.equal(r.indexChanged, false);
    assert.equal(r.catalogChanged, false);
    assert.deepEqual(store.writes, []);
  }));

Deno.test("publish() of a second tag keeps the first", () =>
  withTemp(async (tmp) => {
    const a = await makeOciLayout(`${tmp}/src`, { tag: "v1", seed: "one" });
    const b = await makeOciLayout(`${tmp}/src`, { tag: "v2", seed: "two" });
    const store = new DirStore(`${tmp}/store`);
    await publishFrom(`oci:${tmp}/src:v1`, store, "demo/hello", "v1");
    const r = await publishFrom(`oci:${tmp}/src:v2`, store, "demo/hello", "v2");
    assert.equal(r.catalogChanged, true, "the catalog records the new tag index's digest");
    assert.equal(
      (await readDoc<CatalogV2>(`${tmp}/store`, "catalog.json")).repositories["demo/hello"],
      await indexDigest(tmp),
    );
    const index = await readDoc<RepoIndex>(`${tmp}/store`, INDEX_KEY);
    assert.deepEqual(index.tags, { v1: a.rootDigest, v2: b.rootDigest });
    assert.ok(index.manifests[a.rootDigest] && index.manifests[b.rootDigest]);
    assert.deepEqual(await verifyStore(store), []);
  }));

Deno.test("publish() to two repositories stores a shared base layer once", () =>
  withTemp(async (tmp) => {
    const a = await makeOciLayout(`${tmp}/a`, { seed: "app-a", baseSeed: "debian" });
    const b = await makeOciLayout(`${tmp}/b`, { seed: "app-b", baseSeed: "debian" });
    const base = a.manifests[0].layers[0].digest;
    assert.equal(b.manifests[0].layers[0].digest, base);
    assert.notEqual(a.rootDigest, b.rootDigest);
    const store = new DirStore(`${tmp}/store`);
    const ra = await publishFrom(`oci:${tmp}/a`, store, "team/a", "latest");
    const rb = await publishFrom(`oci:${tmp}/b`, store, "team/b", "latest");
    assert.equal(ra.blobsCopied, 3);
    assert.equal(rb.blobsCopied, 2); // config + its own layer
    assert.equal(rb.blobsSkipped, 1); // the base layer
    assert.equal(rb.bytesSkipped, a.sizes[base]);
    for (const name of ["team/a", "team/b"]) {
      const idx = await readDoc<RepoIndex>(`${tmp}/store`, `repositories/${name}/_index.json`);
      assert.equal(idx.blobs[base], a.sizes[base]);
    }
    assert.deepEqual(
      Object.keys((await readDoc<CatalogV2>(`${tmp}/store`, "catalog.json")).repositories),
      [
        "team/a",
        "team/b",
      ],
    );
    assert.deepEqual(await verifyStore(store), []);
  }));

Deno.test("publish() takes referrers found beside the image in index.json", () =>
  withTemp(async (tmp) => {
    const img = await makeOciLayout(`${tmp}/src`, { referrer: true });
    const store = new DirStore(`${tmp}/store`);
    const r = await publishFrom(`oci:${tmp}/src`, store, "demo/hello", "latest");
    assert.equal(r.manifests, 2);
    const index = await readDoc<RepoIndex>(`${tmp}/store`, INDEX_KEY);
    const entry = index.manifests[img.referrer!.digest];
    assert.equal(entry.subject, img.rootDigest);
    assert.equal(entry.artifactType, "application/vnd.example.sbom.v1+json");
    assert.deepEqual(Object.keys(index.tags), ["latest"]);
    assert.deepEqual(await verifyStore(store), []);
  }));

Deno.test("publish() rejects invalid repository names and tags with UsageError naming them", () =>
  withTemp(async (tmp) => {
    await makeOciLayout(`${tmp}/src`);
    const store = new DirStore(`${tmp}/store`);
    for (
      const [name, tag, needle] of [
        ["Demo/Hello", "v1", '"Demo/Hello"'],
        ["demo//hello", "v1", '"demo//hello"'],
        ["demo/hello", "-v1", '"-v1"'],
        ["demo/hello", "a".repeat(129), "a".repeat(129)],
      ]
    ) {
      await assert.rejects(
        publishFrom(`oci:${tmp}/src`, store, name, tag),
        (e: Error) => e instanceof UsageError && e.message.includes(needle),
      );
    }
    assert.equal(await Deno.stat(path.join(tmp, "store")).catch(() => null), null);
  }));

Deno.test("concurrent publishes to one repository serialise on the lock and keep every tag", () =>
  withTemp(async (tmp) => {
    const tags = ["a", "b", "c", "d"];
    const images: string[] = [];
    for (const tag of tags) {
      images.push((await makeOciLayout(`${tmp}/src`, { tag, seed: tag })).rootDigest);
    }
    // Separate store objects, as separate processes would have.
    await Promise.all(
      tags.map((tag) =>
        publishFrom(`oci:${tmp}/src:${tag}`, new DirStore(`${tmp}/store`), "demo/hello", tag)
      ),
    );
    const index = await readDoc<RepoIndex>(`${tmp}/store`, INDEX_KEY);
    assert.deepEqual(index.tags, Object.fromEntries(tags.map((t, i) => [t, images[i]])));
    assert.deepEqual(await verifyStore(new DirStore(`${tmp}/store`)), []);
  }));
