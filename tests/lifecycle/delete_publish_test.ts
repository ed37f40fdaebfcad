/**
 * @module
 * What publish does to tags now that they can be deleted and moved (issue 12 §2, §4):
 * tag set times written, kept and moved; a moved tag's old manifests leaving the tag
 * index unless something else keeps them; `noClobber` refusing a move before any write;
 * a publish re-listing a repository a concurrent delete emptied; and documents without
 * times (older stores) and with them (read by older servers) both accepted.
 */
import assert from "node:assert/strict";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Type } from "@sinclair/typebox";
import { makeOciLayout } from "../helpers/image.ts";
import { appFor } from "../server/harness.ts";
import { publishFrom, readDoc, snapshot, withTemp } from "../publish/helpers.ts";
import { DirStore } from "../../lib/store/dir.ts";
import type { LockOptions } from "../../lib/store/store.ts";
import { blobKey, repoIndexKey } from "../../lib/layout/keys.ts";
import { writeDocument } from "../../lib/layout/documents.ts";
import { validateRepoIndex } from "../../lib/layout/rules.ts";
import { type CatalogV2, RepoIndexSchema } from "../../lib/layout/schema.ts";
import { TagMoveRefused } from "../../lib/publish/indexes.ts";
import { openSource } from "../../lib/sources/open.ts";
import { publish } from "../../lib/publish/publish.ts";
import { deleteImages } from "../../lib/lifecycle/delete.ts";

const KEY = repoIndexKey("app");
type Doc = { tags: Record<string, string>; tagged?: Record<string, string>; [k: string]: unknown };

Deno.test("publish(): tag set times are written on set and move, kept when unchanged", () =>
  withTemp(async (tmp) => {
    await makeOciLayout(`${tmp}/a`, { tag: "v1", seed: "t-a" });
    await makeOciLayout(`${tmp}/b`, { tag: "v1", seed: "t-b" });
    const root = `${tmp}/store`;
    const store = new DirStore(root);
    const t0 = Date.now();
    await publishFrom(`oci:${tmp}/a:v1`, store, "app", "1.0");
    const first = await readDoc<Doc>(root, KEY);
    const set1 = Date.parse(first.tagged!["1.0"]);
    assert.ok(set1 >= t0 && set1 <= Date.now(), first.tagged!["1.0"]);
    assert.equal(new Date(set1).toISOString(), first.tagged!["1.0"]);

    const bytes = await Deno.readFile(`${root}/${KEY}`);
    const again = await publishFrom(`oci:${tmp}/a:v1`, store, "app", "1.0");
    assert.equal(again.indexChanged, false);
    assert.equal(again.moved, undefined);
    assert.deepEqual(await Deno.readFile(`${root}/${KEY}`), bytes, "unchanged: not rewritten");

    await new Promise((r) => setTimeout(r, 5));
    await publishFrom(`oci:${tmp}/a:v1`, store, "app", "2.0");
    const second = await readDoc<Doc>(root, KEY);
    assert.equal(second.tagged!["1.0"], first.tagged!["1.0"], "an unchanged tag keeps its time");
    assert.ok(Date.parse(second.tagged!["2.0"]) > set1);

    await new Promise((r) => setTimeout(r, 5));
    await publishFrom(`oci:${tmp}/b:v1`, store, "app", "1.0");
    const moved = await readDoc<Doc>(root, KEY);
    assert.ok(
      Date.parse(moved.tagged!["1.0"]) > Date.parse(second.tagged!["2.0"]),
      "moved: new time",
    );
    assert.equal(moved.tagged!["2.0"], second.tagged!["2.0"]);
  }));

Deno.test("publish(): a moved tag reports old → new and drops what only the old image used", () =>
  withTemp(async (tmp) => {
    const a = await makeOciLayout(`${tmp}/a`, {
      tag: "v1",
      seed: "m-a",
      baseSeed: "m-base",
      referrer: true,
      platforms: [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }],
    });
    const b = await makeOciLayout(`${tmp}/b`, { tag: "v1", seed: "m-b", baseSeed: "m-base" });
    const root = `${tmp}/store`;
    const store = new DirStore(root);
    await publishFrom(`oci:${tmp}/a:v1`, store, "app", "1.0");
    await publishFrom(`oci:${tmp}/a:v1`, store, "app", "keep");

    // With another tag on the old image, the move drops nothing.
    const kept = await publishFrom(`oci:${tmp}/b:v1`, store, "app", "1.0");
    assert.deepEqual(kept.moved, { tag: "1.0", from: a.rootDigest, to: b.rootDigest, dropped: [] });
    let doc = validateRepoIndex(await readDoc(root, KEY), "app");
    assert.ok(doc.manifests[a.rootDigest] && doc.manifests[a.referrer!.digest]);

    // Moving the last tag off it: the index, its platforms, its referrer and the blobs only
    // they listed leave the tag index (so gc can collect them); the shared base stays.
    const back = await publishFrom(`oci:${tmp}/b:v1`, store, "app", "keep");
    const oldManifests = [a.rootDigest, ...a.manifests.map((m) => m.digest), a.referrer!.digest];
    assert.deepEqual(back.moved?.from, a.rootDigest);
    assert.deepEqual(back.moved?.dropped, [...oldManifests].sort());
    doc = validateRepoIndex(await readDoc(root, KEY), "app");
    assert.deepEqual({ ...doc.tags }, { "1.0": b.rootDigest, keep: b.rootDigest });
    assert.deepEqual(Object.keys(doc.manifests), [b.rootDigest]);
    assert.deepEqual(Object.keys(doc.blobs).sort(), [...b.blobs].sort());
    const shared = a.blobs.filter((d) => b.blobs.includes(d));
    assert.ok(shared.length > 0);
    for (const d of oldManifests) assert.ok(await store.stat(blobKey(d)), "objects stay for gc");
  }));

Deno.test("publish({ noClobber }): refuses a move before writing anything, allows the same digest", () =>
  withTemp(async (tmp) => {
    const a = await makeOciLayout(`${tmp}/a`, { tag: "v1", seed: "nc-a" });
    const b = await makeOciLayout(`${tmp}/b`, { tag: "v1", seed: "nc-b" });
    const root = `${tmp}/store`;
    const store = new DirStore(root);
    await publishFrom(`oci:${tmp}/a:v1`, store, "app", "1.0");
    const before = await snapshot(root);
    const run = async (dir: string, tag: string) => {
      const source = await openSource(`oci:${dir}:v1`);
      try {
        return await publish({ source, store, name: "app", tag, noClobber: true });
      } finally {
        await source.close();
      }
    };
    await assert.rejects(run(`${tmp}/b`, "1.0"), (e) => {
      assert.ok(e instanceof TagMoveRefused);
      assert.equal(
        e.message,
        `publish app:1.0: tag "1.0" already points at ${a.rootDigest}; ` +
          `--no-clobber refuses to move it to ${b.rootDigest}`,
      );
      return true;
    });
    assert.deepEqual(await snapshot(root), before, "no blob, manifest or document written");
    assert.equal((await run(`${tmp}/a`, "1.0")).indexChanged, false);
    assert.equal((await run(`${tmp}/b`, "2.0")).digest, b.rootDigest, "a new tag is no move");
  }));

/** A DirStore that runs `beforeLock` once, just before the first lock named `name`. */
class HookStore extends DirStore {
  constructor(root: string, readonly name: string, public beforeLock?: () => Promise<void>) {
    super(root);
  }
  override async lock(name: string, opts?: LockOptions) {
    const hook = name === this.name ? this.beforeLock : undefined;
    if (hook) {
      this.beforeLock = undefined;
      await hook();
    }
    return super.lock(name, opts);
  }
}

Deno.test("publish(): a repository emptied by a delete after publish planned is listed again", () =>
  withTemp(async (tmp) => {
    await makeOciLayout(`${tmp}/a`, { tag: "v1", seed: "race-a" });
    const root = `${tmp}/store`;
    await publishFrom(`oci:${tmp}/a:v1`, new DirStore(root), "app", "x");
    // publish app:y plans while app is listed; before it takes repo:app, a delete empties
    // the repository and takes it out of the catalog.
    const store = new HookStore(root, "repo:app", async () => {
      const [r] = await deleteImages({
        store: new DirStore(root),
        targets: [{ name: "app", tag: "x" }],
      });
      assert.equal(r.catalogChanged, true);
    });
    const result = await publishFrom(`oci:${tmp}/a:v1`, store, "app", "y");
    assert.equal(store.beforeLock, undefined, "the delete ran");
    assert.equal(result.catalogChanged, true);
    assert.deepEqual(Object.keys((await readDoc<CatalogV2>(root, "catalog.json")).repositories), [
      "app",
    ]);
    const { app } = await appFor(new DirStore(root));
    assert.equal((await app.request("/v2/app/manifests/y", { method: "HEAD" })).status, 200);
    assert.equal((await app.request("/v2/app/manifests/x", { method: "HEAD" })).status, 404);
  }));

Deno.test("tag index: a document without times loads in the server; an older schema reads new ones", () =>
  withTemp(async (tmp) => {
    const a = await makeOciLayout(`${tmp}/a`, { tag: "v1", seed: "old-a" });
    const root = `${tmp}/store`;
    const store = new DirStore(root);
    await publishFrom(`oci:${tmp}/a:v1`, store, "app", "1.0");
    const doc = await readDoc<Doc>(root, KEY);
    assert.ok(doc.tagged);

    // What an older server compiled: the same shape without `tagged`. It must accept the
    // new document (the shapes are open), or old servers would reject new stores.
    const { tagged: _, ...oldProperties } = RepoIndexSchema.properties;
    const older = TypeCompiler.Compile(Type.Object(oldProperties));
    assert.ok(
      older.Check(structuredClone(doc)),
      [...older.Errors(doc)].map((e) => e.message).join("; "),
    );

    // What an older publish wrote: no times. It loads and serves, and retention counts
    // its tags as the oldest.
    const { tagged: __, ...old } = doc;
    await writeDocument(store, KEY, old, (v) => validateRepoIndex(v, "app"));
    const { app } = await appFor(store);
    const res = await app.request("/v2/app/manifests/1.0");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-content-digest"), a.rootDigest);
    await res.body?.cancel();
    const [r] = await deleteImages({
      store,
      retention: { repositories: ["app"], policy: { keepYoungerMs: 3_600_000 } },
      dryRun: true,
    });
    assert.deepEqual(r.tags.map((t) => t.tag), ["1.0"]);
  }));
