/**
 * @module
 * One set of rules for writer and reader: whatever `publish` (and `import`) writes, the
 * server's Registry loads; whatever the server would refuse, publish refuses BEFORE
 * writing anything, naming the image, the manifest and the field.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { repoIndexKey } from "../../lib/layout/keys.ts";
import { decodeDocument } from "../../lib/layout/documents.ts";
import { validateRepoIndex } from "../../lib/layout/rules.ts";
import { Registry } from "../../lib/index/registry.ts";
import { publish } from "../../lib/publish/publish.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { importLayout } from "../../lib/bundle/import.ts";
import { silentLogger } from "../../lib/log.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { snapshot, withTemp } from "../publish/helpers.ts";
import { MemorySource } from "./memory_source.ts";

const SBOM = "application/vnd.example.sbom.v1+json";

Deno.test("publish() writes what the server loads: referrers, annotations, tags __proto__ and constructor", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    const src = new MemorySource();
    src.root = src.image("app", { annotations: { "org.opencontainers.image.title": "app" } });
    const sbom = src.image("sbom", {
      artifactType: SBOM,
      subject: src.root,
      annotations: { "org.example.kind": "sbom" },
    });
    src.related_ = [sbom];
    for (const tag of ["__proto__", "constructor", "latest"]) {
      const r = await publish({ source: src, store, name: "demo/app", tag });
      assert.equal(r.digest, src.root.digest);
    }
    const raw = await Deno.readTextFile(store.pathOf(repoIndexKey("demo/app")));
    assert.match(raw, /"__proto__":"sha256:/, "the tag __proto__ is written");

    const registry = new Registry(store, { log: silentLogger });
    await registry.load();
    const repo = registry.repo("demo/app")!;
    assert.deepEqual(repo.sortedTags, ["__proto__", "constructor", "latest"]);
    assert.equal(repo.tagDigest("__proto__"), src.root.digest);
    assert.equal(repo.tagDigest("constructor"), src.root.digest);
    assert.equal(repo.tagDigest("toString"), undefined);
    const [ref] = repo.referrers(src.root.digest);
    assert.equal(ref.digest, sbom.digest);
    assert.equal(ref.artifactType, SBOM);
    assert.deepEqual({ ...ref.annotations }, { "org.example.kind": "sbom" });
    assert.deepEqual(await verifyStore(store), []);

    // The bytes written are a fixed point of the reader: read, re-encoded, identical.
    const doc = decodeDocument(
      "k",
      new TextEncoder().encode(raw),
      (v) => validateRepoIndex(v, "demo/app"),
    );
    assert.equal(JSON.stringify(doc) + "\n", raw);

    // Re-publishing changes nothing.
    const again = await publish({ source: src, store, name: "demo/app", tag: "__proto__" });
    assert.equal(again.indexChanged, false);
  }));

const DEFECTS: [string, (src: MemorySource) => Record<string, unknown>, string][] = [
  [
    "an annotation that is not a string",
    () => ({ annotations: { "org.x": 5 } }),
    "annotations[org.x]: not a string, got 5",
  ],
  [
    "annotations as an array",
    () => ({ annotations: ["org.x"] }),
    'annotations: not an object, got ["org.x"]',
  ],
  [
    "a subject with an unsupported algorithm",
    (src) => ({ subject: { ...src.image("s"), digest: `sha384:${"a".repeat(96)}` } }),
    `subject: "sha384:${
      "a".repeat(96)
    }" is not a digest: unsupported algorithm "sha384" (sha256, sha512)`,
  ],
  [
    "a subject with uppercase hex",
    (src) => ({ subject: { ...src.image("s"), digest: `sha256:${"A".repeat(64)}` } }),
    `subject: "sha256:${"A".repeat(64)}" is not a digest: sha256 needs 64 lowercase hex characters`,
  ],
];

Deno.test("publish() refuses what the server would refuse before writing anything, naming image, manifest and field", async (t) => {
  for (const [what, extra, field] of DEFECTS) {
    await t.step(what, () =>
      withTemp(async (tmp) => {
        const src = new MemorySource();
        src.root = src.image("bad", extra(src));
        await assert.rejects(
          publish({
            source: src,
            store: new DirStore(`${tmp}/store`),
            name: "library/app",
            tag: "1",
          }),
          { message: `publish library/app:1: manifest ${src.root.digest}: ${field}` },
        );
        assert.deepEqual(
          await snapshot(`${tmp}/store`),
          {},
          "nothing written, not even the marker",
        );
      }));
  }
});

Deno.test("publish() refuses to extend a tag index the server would refuse, and writes nothing", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    const src = new MemorySource();
    src.root = src.image("ok");
    await publish({ source: src, store, name: "demo/app", tag: "v1" });
    const key = repoIndexKey("demo/app");
    const file = store.pathOf(key);
    const doc = JSON.parse(await Deno.readTextFile(file));
    doc.tags.v0 = `sha256:${"0".repeat(64)}`; // a tag to a manifest the index lacks
    await Deno.writeTextFile(file, JSON.stringify(doc));
    const before = await snapshot(`${tmp}/store`);
    const other = new MemorySource();
    other.root = other.image("new");
    await assert.rejects(
      publish({ source: other, store, name: "demo/app", tag: "v2" }),
      /document "repositories\/demo\/app\/_index\.json": tags\[v0\]: .* is not a held manifest/,
    );
    assert.deepEqual(await snapshot(`${tmp}/store`), before);
  }));

Deno.test("importLayout() refuses a layout entry the server would refuse, naming it", () =>
  withTemp(async (tmp) => {
    const src = new MemorySource();
    src.root = src.image("bad", { annotations: { "org.x": 5 } });
    const dir = path.join(tmp, "layout");
    await fs.mkdir(path.join(dir, "blobs", "sha256"), { recursive: true });
    for (const [digest, bytes] of src.objects) {
      await fs.writeFile(path.join(dir, "blobs", "sha256", digest.slice(7)), bytes);
    }
    await fs.writeFile(path.join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    await fs.writeFile(
      path.join(dir, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ ...src.root, annotations: { "io.containerd.image.name": "team/x:v1" } }],
      }),
    );
    await assert.rejects(
      importLayout({ source: `oci:${dir}`, store: new DirStore(`${tmp}/store`) }),
      {
        message:
          `publish team/x:v1: manifest ${src.root.digest}: annotations[org.x]: not a string, got 5`,
      },
    );
    assert.deepEqual(await snapshot(`${tmp}/store`), {});
  }));
