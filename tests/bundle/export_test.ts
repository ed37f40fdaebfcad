/**
 * @module
 * exportLayout() into an existing `oci:DIR` merges its index.json (others' entries kept,
 * one naming the same image replaced), refuses a directory it cannot merge into before
 * writing, leaves the existing index.json as it was when the export fails, and survives a
 * tag index whose index lists itself as a child (through the CLI).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { DirStore } from "../../lib/store/dir.ts";
import { exportLayout } from "../../lib/bundle/export.ts";
import { openSource } from "../../lib/sources/open.ts";
import { main } from "../../lib/cli/main.ts";
import { blobKey, type RepoIndex, repoIndexKey } from "../../lib/layout/layout.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { publishFrom, readDoc, withTemp } from "../publish/helpers.ts";
import { putDoc } from "../helpers/layout_writer.ts";

const IMAGE = "io.containerd.image.name";
const REF = "org.opencontainers.image.ref.name";

async function indexOf(dir: string) {
  return JSON.parse(await fs.readFile(`${dir}/index.json`, "utf8")) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
}

/** A store serving team/a:v1 and team/a:v2. */
async function seeded(tmp: string) {
  const store = new DirStore(`${tmp}/store`);
  const v1 = await makeOciLayout(`${tmp}/src`, { tag: "v1", seed: "a1" });
  const v2 = await makeOciLayout(`${tmp}/src`, { tag: "v2", seed: "a2" });
  await publishFrom(`oci:${tmp}/src:v1`, store, "team/a", "v1");
  await publishFrom(`oci:${tmp}/src:v2`, store, "team/a", "v2");
  return { store, v1, v2 };
}

Deno.test("exportLayout() merges into an existing layout: others kept, the same image replaced", () =>
  withTemp(async (tmp) => {
    const { store, v1 } = await seeded(tmp);
    const out = `${tmp}/out`;
    // Someone else's layout: "other" (skopeo style, ref.name only), an old "v1" by
    // ref.name, and an old team/a:v1 by containerd name.
    const other = await makeOciLayout(out, { tag: "other", seed: "o" });
    const stale = await makeOciLayout(out, { tag: "v1", seed: "stale" });
    const index = await indexOf(out);
    index.manifests.push({ ...index.manifests[0], annotations: { [IMAGE]: "team/a:v1" } });
    await fs.writeFile(`${out}/index.json`, JSON.stringify(index));

    const r = await exportLayout({
      store,
      target: { kind: "oci", path: out },
      select: ["team/a:v1"],
    });
    assert.deepEqual(r.merged, { kept: 1, replaced: 2 });
    const after = await indexOf(out);
    assert.deepEqual(after.manifests.map((m) => [m.digest, m.annotations?.[REF]]), [
      [other.rootDigest, "other"],
      [v1.rootDigest, "v1"],
    ]);
    assert.ok(!after.manifests.some((m) => m.digest === stale.rootDigest));
    // Both are whole images: skopeo-style lookups by tag find them with their blobs.
    for (const [tag, digest] of [["other", other.rootDigest], ["v1", v1.rootDigest]]) {
      const source = await openSource(`oci:${out}:${tag}`);
      assert.equal((await source.resolve()).digest, digest);
      await source.close();
    }
    const left = await fs.readdir(out);
    assert.ok(!left.some((n) => n.endsWith(".part")), `no partial file: ${left}`);
  }));

Deno.test("exportLayout() refuses a directory it cannot merge into, writing nothing", () =>
  withTemp(async (tmp) => {
    const { store } = await seeded(tmp);
    const notLayout = `${tmp}/home`;
    await fs.mkdir(notLayout);
    await fs.writeFile(`${notLayout}/notes.txt`, "mine");
    await assert.rejects(
      exportLayout({ store, target: { kind: "oci", path: notLayout } }),
      /not empty and not an OCI image layout \(holds "notes\.txt"\)/,
    );
    assert.deepEqual(await fs.readdir(notLayout), ["notes.txt"]);

    const broken = `${tmp}/broken`;
    await fs.mkdir(broken);
    await fs.writeFile(`${broken}/index.json`, "{not json");
    await assert.rejects(
      exportLayout({ store, target: { kind: "oci", path: broken } }),
      /cannot merge into its index\.json/,
    );
    assert.deepEqual(await fs.readdir(broken), ["index.json"]);
    assert.equal(await fs.readFile(`${broken}/index.json`, "utf8"), "{not json");
  }));

Deno.test("exportLayout() that fails leaves an existing index.json as it was", () =>
  withTemp(async (tmp) => {
    const { store, v2 } = await seeded(tmp);
    const out = `${tmp}/out`;
    await makeOciLayout(out, { tag: "other", seed: "o" });
    const before = await fs.readFile(`${out}/index.json`, "utf8");
    await fs.writeFile(store.pathOf(blobKey(v2.manifests[0].layers[0].digest)), "damaged");
    await assert.rejects(exportLayout({ store, target: { kind: "oci", path: out } }));
    assert.equal(await fs.readFile(`${out}/index.json`, "utf8"), before);
  }));

Deno.test("export (CLI) of a tag index whose index lists itself as a child exits 0", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    const img = await makeOciLayout(`${tmp}/src`, {
      tag: "v1",
      platforms: [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }],
    });
    await publishFrom(`oci:${tmp}/src:v1`, store, "team/loop", "v1");
    const key = repoIndexKey("team/loop");
    const index = await readDoc<RepoIndex>(`${tmp}/store`, key);
    index.manifests[img.rootDigest].children!.push(img.rootDigest);
    await putDoc(store, key, index);
    const out = `${tmp}/out.tar`;
    assert.equal(await main(["export", "--from", `${tmp}/store`, `oci-archive:${out}`]), 0);
    const source = await openSource(`oci-archive:${out}:v1`);
    try {
      assert.equal((await source.resolve()).digest, img.rootDigest);
    } finally {
      await source.close();
    }
  }));
