/**
 * @module
 * importLayout(): digest-pinned names import untagged (no tag moves), and a bundle is
 * imported all or nothing: a damaged blob in any image, or any entry the server would
 * refuse, fails the import before any tag index or the catalog changes.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { DirStore } from "../../lib/store/dir.ts";
import { importLayout } from "../../lib/bundle/import.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { type RepoIndex, repoIndexKey } from "../../lib/layout/layout.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { digestOf } from "../../lib/oci/digest.ts";
import { publishFrom, readDoc, snapshot, withTemp } from "../publish/helpers.ts";
import { appFor } from "../server/harness.ts";

const IMAGE = "io.containerd.image.name";
const REF = "org.opencontainers.image.ref.name";

/** Rewrites the annotations of the index.json entry of `digest` in layout `dir`. */
async function annotate(dir: string, digest: string, annotations: Record<string, string>) {
  const file = `${dir}/index.json`;
  const index = JSON.parse(await fs.readFile(file, "utf8"));
  for (const d of index.manifests) if (d.digest === digest) d.annotations = annotations;
  await fs.writeFile(file, JSON.stringify(index));
}

/** Every document of the store (tag indexes, catalog): what a reader sees as tags. */
async function documents(root: string): Promise<Record<string, string>> {
  const all = await snapshot(root);
  return Object.fromEntries(Object.entries(all).filter(([k]) => !k.startsWith("blobs/")));
}

Deno.test("importLayout() imports containerd's digest-pinned name untagged and leaves latest alone", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    const old = await makeOciLayout(`${tmp}/old`, { tag: "latest", seed: "old" });
    await publishFrom(`oci:${tmp}/old:latest`, store, "docker.io/library/alpine", "latest");
    const pinned = await makeOciLayout(`${tmp}/src`, { tag: "x", seed: "pinned" });
    await annotate(`${tmp}/src`, pinned.rootDigest, {
      [IMAGE]: `docker.io/library/alpine@${pinned.rootDigest}`,
      [REF]: `@${pinned.rootDigest}`,
    });
    const [r] = await importLayout({ source: `oci:${tmp}/src`, store });
    assert.equal(r.tag, undefined);
    assert.equal(r.digest, pinned.rootDigest);
    const index = await readDoc<RepoIndex>(
      `${tmp}/store`,
      repoIndexKey("docker.io/library/alpine"),
    );
    assert.deepEqual({ ...index.tags }, { latest: old.rootDigest });
    assert.ok(index.manifests[pinned.rootDigest], "the pinned image is held, by digest");
    assert.deepEqual(await verifyStore(store, { deep: true }), []);
    // Served by digest, as `pull alpine@sha256:…` asks; `latest` still the old image.
    const { app } = await appFor(store);
    const base = "/v2/docker.io/library/alpine/manifests";
    assert.equal((await app.request(`${base}/${pinned.rootDigest}`)).status, 200);
    const latest = await app.request(`${base}/latest`);
    assert.equal(latest.headers.get("docker-content-digest"), old.rootDigest);
  }));

Deno.test("importLayout() takes the tag a digest-pinned name carries (alpine:3.19@sha256:…)", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    const img = await makeOciLayout(`${tmp}/src`, { tag: "x" });
    await annotate(`${tmp}/src`, img.rootDigest, { [IMAGE]: `alpine:3.19@${img.rootDigest}` });
    const [r] = await importLayout({ source: `oci:${tmp}/src`, store });
    assert.equal(r.tag, "3.19");
    const index = await readDoc<RepoIndex>(`${tmp}/store`, repoIndexKey("alpine"));
    assert.deepEqual({ ...index.tags }, { "3.19": img.rootDigest });
  }));

Deno.test("importLayout() with --repo imports a ref.name of @sha256:… untagged", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    const img = await makeOciLayout(`${tmp}/src`, { tag: "x" });
    await annotate(`${tmp}/src`, img.rootDigest, { [REF]: `@${img.rootDigest}` });
    const [r] = await importLayout({ source: `oci:${tmp}/src`, store, repo: "x/y" });
    assert.equal(r.tag, undefined);
    const index = await readDoc<RepoIndex>(`${tmp}/store`, repoIndexKey("x/y"));
    assert.deepEqual({ ...index.tags }, {});
    assert.ok(index.manifests[img.rootDigest]);
  }));

Deno.test("importLayout() is all or nothing: a damaged blob in the second image moves no tag", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    // The store already serves x/y:v1 (an older image): the import must not move it.
    await makeOciLayout(`${tmp}/old`, { tag: "v1", seed: "old" });
    await publishFrom(`oci:${tmp}/old:v1`, store, "x/y", "v1");
    await makeOciLayout(`${tmp}/src`, { tag: "v1", seed: "a" });
    const bad = await makeOciLayout(`${tmp}/src`, { tag: "v2", seed: "b", corrupt: {} });
    const before = await documents(`${tmp}/store`);
    await assert.rejects(
      importLayout({ source: `oci:${tmp}/src`, store, repo: "x/y" }),
      (e: Error) => {
        assert.match(e.message, new RegExp(`^import x/y:v2: blob ${bad.corrupted}: `));
        return true;
      },
    );
    assert.deepEqual(await documents(`${tmp}/store`), before, "no tag index or catalog changed");
    const objects = Object.keys(await snapshot(`${tmp}/store`));
    assert.ok(
      !objects.includes(`blobs/sha256/${bad.corrupted!.slice(7)}`),
      "damaged blob kept out",
    );
    assert.deepEqual(await verifyStore(store, { deep: true }), []);
  }));

Deno.test("importLayout() is all or nothing: an entry the server would refuse writes nothing", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    await makeOciLayout(`${tmp}/src`, { tag: "v1", seed: "a" });
    await makeOciLayout(`${tmp}/src`, { tag: "NOT/A/TAG", seed: "b" });
    await assert.rejects(
      importLayout({ source: `oci:${tmp}/src`, store, repo: "x/y" }),
      /tag "NOT\/A\/TAG": must match/,
    );
    assert.deepEqual(await snapshot(`${tmp}/store`), {});
  }));

Deno.test("importLayout() refuses a bundle naming one tag twice with different images", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    const a = await makeOciLayout(`${tmp}/src`, { tag: "a", seed: "a" });
    const b = await makeOciLayout(`${tmp}/src`, { tag: "b", seed: "b" });
    await annotate(`${tmp}/src`, a.rootDigest, { [IMAGE]: "x/y:v1" });
    await annotate(`${tmp}/src`, b.rootDigest, { [IMAGE]: "x/y:v1" });
    await assert.rejects(
      importLayout({ source: `oci:${tmp}/src`, store }),
      new RegExp(`names x/y:v1 twice \\(${a.rootDigest}, ${b.rootDigest}\\)`),
    );
    assert.deepEqual(await snapshot(`${tmp}/store`), {});
  }));

Deno.test("importLayout() names image, manifest and layer of an unsupported digest algorithm", () =>
  withTemp(async (tmp) => {
    const img = await makeOciLayout(`${tmp}/src`, { tag: "v1" });
    const blobs = `${tmp}/src/blobs/sha256`;
    const m = JSON.parse(await fs.readFile(`${blobs}/${img.rootDigest.slice(7)}`, "utf8"));
    m.layers[1].digest = `sha384:${"a".repeat(96)}`;
    const bytes = new TextEncoder().encode(JSON.stringify(m));
    const digest = digestOf(bytes);
    await fs.writeFile(`${blobs}/${digest.slice(7)}`, bytes);
    const index = JSON.parse(await fs.readFile(`${tmp}/src/index.json`, "utf8"));
    index.manifests[0] = { ...index.manifests[0], digest, size: bytes.byteLength };
    await fs.writeFile(`${tmp}/src/index.json`, JSON.stringify(index));
    const store = new DirStore(`${tmp}/store`);
    await assert.rejects(
      importLayout({ source: `oci:${tmp}/src`, store, repo: "x/y" }),
      {
        message: `oci:${tmp}/src (x/y:v1): manifest ${digest}: layers[1] "sha384:${
          "a".repeat(96)
        }": unsupported algorithm "sha384" (sha256, sha512)`,
      },
    );
    assert.deepEqual(await snapshot(`${tmp}/store`), {});
  }));
