/**
 * @module
 * deleteImages() on real stores — a directory and an S3 bucket (s3rver, started and
 * stopped by this test) — with real published images: the exact tags, manifests and blob
 * entries left after each delete, shared content kept, a refused delete and a dry run
 * that change nothing, an emptied repository leaving the catalog, and a server over the
 * store (app.request) that stops serving what went and keeps the rest after a refresh.
 */
import assert from "node:assert/strict";
import { type BuiltImage, makeOciLayout } from "../helpers/image.ts";
import { startS3rver } from "../helpers/s3rver.ts";
import { appFor } from "../server/harness.ts";
import { publishFrom, snapshot, withTemp } from "../publish/helpers.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { S3Store } from "../../lib/store/s3.ts";
import type { WriteStore } from "../../lib/store/store.ts";
import {
  blobKey,
  CACHE_INDEX,
  CATALOG_KEY,
  DOCUMENT_TYPE,
  repoIndexKey,
} from "../../lib/layout/keys.ts";
import { readDocument } from "../../lib/layout/documents.ts";
import { validateCatalog, validateRepoIndex } from "../../lib/layout/rules.ts";
import type { RepoIndex } from "../../lib/layout/schema.ts";
import { StillReferenced } from "../../lib/layout/removal.ts";
import { deleteImages } from "../../lib/lifecycle/delete.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { catalogNames } from "../../lib/layout/catalog.ts";

const PLATFORMS = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64" },
];

interface Images {
  /** 2-platform index with an SBOM referrer; shares its base layer with `b`. */
  a: BuiltImage;
  b: BuiltImage;
  c: BuiltImage;
  dirs: Record<"a" | "b" | "c", string>;
}

async function images(tmp: string): Promise<Images> {
  const dirs = { a: `${tmp}/a`, b: `${tmp}/b`, c: `${tmp}/c` };
  return {
    a: await makeOciLayout(dirs.a, {
      tag: "v1",
      platforms: PLATFORMS,
      seed: "del-a",
      baseSeed: "del-base",
      referrer: true,
    }),
    b: await makeOciLayout(dirs.b, { tag: "v1", seed: "del-b", baseSeed: "del-base" }),
    c: await makeOciLayout(dirs.c, { tag: "v1", seed: "del-c" }),
    dirs,
  };
}

async function index(store: WriteStore, name: string): Promise<RepoIndex> {
  const doc = await readDocument(store, repoIndexKey(name), (v) => validateRepoIndex(v, name));
  assert.ok(doc, `tag index of ${name}`);
  return doc;
}
async function catalog(store: WriteStore): Promise<string[]> {
  return catalogNames((await readDocument(store, CATALOG_KEY, validateCatalog))!);
}
/** The bytes of the catalog and of every listed tag index (what a dry run must not change). */
async function documents(store: WriteStore): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const key of [CATALOG_KEY, ...["app", "other", "solo"].map(repoIndexKey)]) {
    const r = await store.read(key);
    out[key] = r.status === "ok" ? new TextDecoder().decode(r.bytes) : r.status;
  }
  return out;
}
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();
const manifestsOf = (img: BuiltImage) =>
  sorted([
    img.rootDigest,
    ...img.manifests.map((m) => m.digest),
    ...(img.referrer ? [img.referrer.digest] : []),
  ]);
const blobsOf = (img: BuiltImage) => sorted([...img.blobs, ...(img.referrer?.blobs ?? [])]);

async function status(
  app: { request(p: string, i?: RequestInit): Promise<Response> },
  path: string,
) {
  const res = await app.request(path, { method: "HEAD" });
  await res.body?.cancel();
  return res.status;
}

/** The images published: app:1.0 app:latest (a), app:2.0 (b), other:1 and solo:x (c). */
async function publishAll(store: WriteStore, img: Images): Promise<void> {
  await publishFrom(`oci:${img.dirs.a}:v1`, store, "app", "1.0");
  await publishFrom(`oci:${img.dirs.a}:v1`, store, "app", "latest");
  await publishFrom(`oci:${img.dirs.b}:v1`, store, "app", "2.0");
  await publishFrom(`oci:${img.dirs.c}:v1`, store, "other", "1");
  await publishFrom(`oci:${img.dirs.c}:v1`, store, "solo", "x");
}

/** The whole scenario against one published store; `files` snapshots a directory store. */
async function scenario(store: WriteStore, img: Images, files?: () => Promise<unknown>) {
  const { a, b, c } = img;
  const shared = a.blobs.filter((d) => b.blobs.includes(d));
  assert.ok(shared.length > 0, "a and b share a base layer");
  assert.ok(a.referrer && (await index(store, "app")).manifests[a.referrer.digest]);
  const { app, registry } = await appFor(store);
  assert.equal(await status(app, "/v2/app/manifests/2.0"), 200);

  // A dry run plans and writes nothing.
  const before = await documents(store);
  const filesBefore = await files?.();
  const dry = await deleteImages({ store, targets: [{ name: "app", tag: "2.0" }], dryRun: true });
  assert.deepEqual(dry.map((r) => [r.name, r.tags.map((t) => t.tag), r.manifests]), [
    ["app", ["2.0"], [b.rootDigest]],
  ]);
  assert.deepEqual(await documents(store), before);
  if (files) assert.deepEqual(await files(), filesBefore);

  // One of two tags on the same index: only the tag goes.
  const [latest] = await deleteImages({ store, targets: [{ name: "app", tag: "latest" }] });
  assert.deepEqual(latest.tags, [{ tag: "latest", digest: a.rootDigest }]);
  assert.deepEqual([latest.manifests, latest.blobs, latest.emptied], [[], [], false]);
  let idx = await index(store, "app");
  assert.deepEqual(Object.keys(idx.tags).sort(), ["1.0", "2.0"]);
  assert.deepEqual(Object.keys(idx.tagged ?? {}).sort(), ["1.0", "2.0"]);

  // By digest: its tag goes, its own layers go, the base layer shared with 1.0 stays.
  const [byDigest] = await deleteImages({
    store,
    targets: [{ name: "app", digest: b.rootDigest }],
  });
  assert.deepEqual(byDigest.tags, [{ tag: "2.0", digest: b.rootDigest }]);
  assert.deepEqual(byDigest.manifests, [b.rootDigest]);
  assert.deepEqual(byDigest.blobs, sorted(b.blobs.filter((d) => !shared.includes(d))));
  idx = await index(store, "app");
  assert.deepEqual(Object.keys(idx.tags), ["1.0"]);
  assert.deepEqual(sorted(Object.keys(idx.manifests)), manifestsOf(a));
  assert.deepEqual(sorted(Object.keys(idx.blobs)), blobsOf(a));

  // A platform of the tagged index is refused, and nothing changes.
  const held = await documents(store);
  await assert.rejects(
    deleteImages({ store, targets: [{ name: "app", digest: a.manifests[0].digest }] }),
    (e) => e instanceof StillReferenced && /delete app:1\.0 too/.test(e.message),
  );
  // Unknown names, tags and digests are refused before any write, even among good targets.
  await assert.rejects(
    deleteImages({ store, targets: [{ name: "other", tag: "1" }, { name: "app", tag: "9" }] }),
    /repository "app" has no tag "9"/,
  );
  await assert.rejects(
    deleteImages({ store, targets: [{ name: "app", digest: b.rootDigest }] }),
    new RegExp(`repository "app" holds no manifest ${b.rootDigest}`),
  );
  await assert.rejects(
    deleteImages({ store, targets: [{ name: "nope", tag: "1" }] }),
    /repository "nope" is not in store .*catalog does not list it/,
  );
  assert.deepEqual(await documents(store), held);

  // The last tag of a repository: it leaves the catalog, its document stays, empty.
  const [solo] = await deleteImages({ store, targets: [{ name: "solo", tag: "x" }] });
  assert.deepEqual([solo.emptied, solo.catalogChanged], [true, true]);
  assert.deepEqual(await catalog(store), ["app", "other"]);
  const empty = await index(store, "solo");
  assert.deepEqual([empty.tags, empty.manifests, empty.blobs].map((r) => Object.keys(r)), [
    [],
    [],
    [],
  ]);
  // `other` holds the same image: nothing of it changed, and no object left the store.
  assert.deepEqual(sorted(Object.keys((await index(store, "other")).manifests)), [c.rootDigest]);
  for (const d of [b.rootDigest, ...b.blobs, c.rootDigest]) {
    assert.ok(await store.stat(blobKey(d)), `object ${d} stays for gc`);
  }
  assert.deepEqual(await verifyStore(store), []);

  // The server, after a refresh, serves exactly what is left.
  await registry.refresh();
  const rows: [string, number][] = [
    ["/v2/app/manifests/1.0", 200],
    [`/v2/app/manifests/${a.manifests[0].digest}`, 200],
    [`/v2/app/manifests/${a.referrer!.digest}`, 200],
    [`/v2/app/blobs/${shared[0]}`, 200],
    ["/v2/app/manifests/latest", 404],
    ["/v2/app/manifests/2.0", 404],
    [`/v2/app/manifests/${b.rootDigest}`, 404],
    [`/v2/app/blobs/${b.blobs.find((d) => !shared.includes(d))}`, 404],
    ["/v2/other/manifests/1", 200],
    ["/v2/solo/manifests/x", 404],
  ];
  for (const [path, want] of rows) assert.equal(await status(app, path), want, path);
  const tags = await (await app.request("/v2/app/tags/list")).json();
  assert.deepEqual(tags.tags, ["1.0"]);
  const cat = await (await app.request("/v2/_catalog")).json();
  assert.deepEqual(cat.repositories, ["app", "other"]);
  const gone = await app.request("/v2/solo/tags/list");
  assert.equal(gone.status, 404);
  assert.equal((await gone.json()).errors[0].code, "NAME_UNKNOWN");
}

Deno.test("deleteImages() on a directory store: exact sets left, server follows", () =>
  withTemp(async (tmp) => {
    const img = await images(tmp);
    const root = `${tmp}/store`;
    const store = new DirStore(root);
    await publishAll(store, img);
    await scenario(store, img, () => snapshot(root));
  }));

Deno.test({
  name: "deleteImages() on an S3 bucket (s3rver): exact sets left, server follows",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withTemp(async (tmp) => {
      const img = await images(tmp);
      const s3 = await startS3rver();
      try {
        // Published into a directory and copied file by file: what is under test here is
        // delete on S3 (its lease locks, reads and writes), and five publishes' locks
        // would cost most of the test's time on a loaded machine.
        const seed = `${tmp}/seed`;
        await publishAll(new DirStore(seed), img);
        const store = new S3Store({ bucket: s3.bucket, prefix: "reg", ...s3.options });
        for (const key of Object.keys(await snapshot(seed))) {
          await store.write(key, await Deno.readFile(`${seed}/${key}`), {
            contentType: key.endsWith(".json") ? DOCUMENT_TYPE : "application/octet-stream",
            cacheControl: CACHE_INDEX,
          });
        }
        await scenario(store, img);
      } finally {
        await s3.stop();
      }
    }),
});
