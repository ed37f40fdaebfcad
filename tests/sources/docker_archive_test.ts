/**
 * @module
 * `docker-archive:` sources: legacy and OCI-format `docker save` archives written by
 * tests/sources/docker_save.ts, image selection, layer verification against diff_ids,
 * and refusal of archives whose names or links leave the archive.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import { DirStore } from "../../lib/store/dir.ts";
import { blobKey, type RepoIndex } from "../../lib/layout/layout.ts";
import { UsageError } from "../../lib/cli/usage.ts";
import { DOCKER_MANIFEST } from "../../lib/oci/mediatypes.ts";
import {
  DOCKER_CONFIG,
  DOCKER_LAYER,
  DOCKER_LAYER_GZIP,
  normalizeRepoTag,
} from "../../lib/sources/docker_archive.ts";
import { openSource } from "../../lib/sources/open.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { parsePublishArgs } from "../../lib/cli/publish.ts";
import { publishFrom, readDoc, snapshot, tmpLeftovers, withTemp } from "../publish/helpers.ts";
import { writeLegacyArchive, writeOciDockerArchive } from "./docker_save.ts";

const archiveTemps = async () =>
  (await fs.readdir(os.tmpdir())).filter((n) => n.startsWith("static-registry-archive-"));

const TWO = [
  { tags: ["demo/one:v1", "demo/one:latest"], opts: { seed: "one", baseSeed: "base", layers: 2 } },
  { tags: ["registry.example/two:v2"], opts: { seed: "two", baseSeed: "base", layers: 3 } },
];

Deno.test("docker-archive (legacy): a schema 2 manifest over the layer tars, layers = diff_ids", () =>
  withTemp(async (tmp) => {
    const before = await archiveTemps();
    const [saved] = await writeLegacyArchive(`${tmp}/img.tar`, [{
      tags: ["demo/hello:v1"],
      opts: {},
    }]);
    const store = new DirStore(`${tmp}/store`);
    const r = await publishFrom(
      `docker-archive:${tmp}/img.tar:demo/hello:v1`,
      store,
      "demo/hello",
      "v1",
    );
    assert.equal(r.mediaType, DOCKER_MANIFEST);
    assert.equal(r.blobsCopied, 1 + saved.diffIds.length);
    const manifest = await readDoc<{
      config: { mediaType: string; digest: string };
      layers: { mediaType: string; digest: string }[];
    }>(`${tmp}/store`, blobKey(r.digest));
    assert.equal(manifest.config.mediaType, DOCKER_CONFIG);
    assert.equal(manifest.config.digest, saved.configDigest);
    assert.deepEqual(manifest.layers.map((l) => l.digest), saved.diffIds);
    assert.ok(manifest.layers.every((l) => l.mediaType === DOCKER_LAYER));
    assert.deepEqual(await verifyStore(store, { deep: true }), []);
    assert.deepEqual(await archiveTemps(), before, "the unpacked copy is removed");
    // The manifest is built deterministically: the same archive gives the same digest.
    const again = await publishFrom(`docker-archive:${tmp}/img.tar`, store, "demo/hello", "v2");
    assert.equal(again.digest, r.digest);
    assert.equal(again.blobsCopied, 0);
  }));

Deno.test("docker-archive: REF selects by RepoTags (normalized) or @N; symlinked layers work", () =>
  withTemp(async (tmp) => {
    const saved = await writeLegacyArchive(`${tmp}/two.tar`, TWO);
    assert.equal(saved[0].diffIds[0], saved[1].diffIds[0], "the base layer is shared");
    const store = new DirStore(`${tmp}/store`);
    const a = await publishFrom(`docker-archive:${tmp}/two.tar:demo/one`, store, "demo/one", "v1");
    const b = await publishFrom(
      `docker-archive:${tmp}/two.tar:registry.example/two:v2`,
      store,
      "demo/two",
      "v2",
    );
    const byIndex = await publishFrom(`docker-archive:${tmp}/two.tar:@1`, store, "demo/two", "n1");
    assert.equal(byIndex.digest, b.digest);
    // Into an empty store, the base layer of image 2 is really read through its symlink.
    const fresh = new DirStore(`${tmp}/fresh`);
    const c = await publishFrom(`docker-archive:${tmp}/two.tar:@1`, fresh, "demo/two", "v2");
    assert.equal(c.blobsCopied, 1 + saved[1].diffIds.length);
    assert.deepEqual(await verifyStore(fresh, { deep: true }), []);
    assert.notEqual(a.digest, b.digest);
    // The second image's base layer is a symlink to the first copy: read through it.
    assert.equal(b.blobsSkipped, 1);
    assert.deepEqual(await verifyStore(store, { deep: true }), []);
    const index = await readDoc<RepoIndex>(`${tmp}/store`, "repositories/demo/two/_index.json");
    assert.equal(index.tags.n1, b.digest);
    assert.equal(normalizeRepoTag("docker.io/library/busybox"), "busybox:latest");
    assert.equal(normalizeRepoTag("127.0.0.1:5000/a/b"), "127.0.0.1:5000/a/b:latest");
    for (
      const [ref, needle] of [
        ["", "holds 2 images"],
        [":demo/one:v9", 'no image tagged "demo/one:v9"'],
        [":@2", "no image @2"],
        [":@x", "not @N"],
        [":demo/one@sha256:00", "not a digest"],
      ]
    ) {
      await assert.rejects(
        publishFrom(`docker-archive:${tmp}/two.tar${ref}`, store, "demo/x", "x"),
        (e: Error) => e instanceof UsageError && e.message.includes(needle),
        ref,
      );
    }
    await assert.rejects(
      openSource(`docker-archive:${tmp}/missing.tar`),
      (e: Error) => e instanceof UsageError && e.message.includes(`${tmp}/missing.tar not found`),
    );
  }));

Deno.test("docker-archive: a layer that does not match its diff_id fails, the store unchanged", () =>
  withTemp(async (tmp) => {
    await writeLegacyArchive(`${tmp}/good.tar`, [{ tags: ["g:1"], opts: { seed: "good" } }]);
    let bad = "";
    await writeLegacyArchive(`${tmp}/bad.tar`, [{
      tags: ["b:1"],
      opts: { seed: "bad", layers: 3 },
    }], {
      tamper(entries, manifest) {
        const layers = manifest[0].Layers as string[];
        const e = entries.find((x) => x.name === layers[1])!;
        if (!("body" in e)) throw new Error("expected a file");
        e.body = e.body.slice();
        e.body[e.body.length >> 1] ^= 0xff;
        bad = layers[1];
      },
    });
    const store = new DirStore(`${tmp}/store`);
    await publishFrom(`docker-archive:${tmp}/good.tar`, store, "demo/x", "good");
    const before = await snapshot(`${tmp}/store`);
    const source = await openSource(`docker-archive:${tmp}/bad.tar`);
    const root = await source.resolve();
    const { body } = await source.open(root.digest);
    const layerDigest = JSON.parse(await new Response(body).text()).layers[1].digest;
    await source.close();
    assert.ok(bad);
    await assert.rejects(
      publishFrom(`docker-archive:${tmp}/bad.tar`, store, "demo/x", "bad"),
      (e: Error) => e.message.includes(layerDigest) && /content digest is sha256:/.test(e.message),
    );
    const after = await snapshot(`${tmp}/store`);
    for (const key of Object.keys(after)) {
      if (!(key in before)) assert.ok(key.startsWith("blobs/"), `${key} appeared`);
      else assert.equal(after[key], before[key], `${key} changed`);
    }
    assert.ok(!(blobKey(layerDigest) in after));
    assert.deepEqual(await tmpLeftovers(`${tmp}/store`), []);
    assert.deepEqual(await verifyStore(store), []);
  }));

Deno.test("docker-archive: gzip layer files keep their digest, checked against diff_ids", () =>
  withTemp(async (tmp) => {
    const [saved] = await writeLegacyArchive(`${tmp}/gz.tar`, [{ tags: ["gz:1"], opts: {} }], {
      gzip: true,
    });
    const store = new DirStore(`${tmp}/store`);
    const r = await publishFrom(`docker-archive:${tmp}/gz.tar`, store, "demo/gz", "1");
    const m = await readDoc<{ layers: { mediaType: string; digest: string }[] }>(
      `${tmp}/store`,
      blobKey(r.digest),
    );
    // The gzip bytes are the generated image's own layers: same digests.
    assert.deepEqual(
      m.layers.map((l) => l.digest),
      saved.image.manifests[0].layers.map((l) => l.digest),
    );
    assert.ok(m.layers.every((l) => l.mediaType === DOCKER_LAYER_GZIP));
    assert.deepEqual(await verifyStore(store, { deep: true }), []);
    // A gzip layer of another image under this config: refused before anything is copied.
    await writeLegacyArchive(`${tmp}/mix.tar`, [{ tags: ["m:1"], opts: { seed: "mix" } }], {
      gzip: true,
      tamper(entries, manifest) {
        const layers = manifest[0].Layers as string[];
        const a = entries.find((x) => x.name === layers[0])!;
        const b = entries.find((x) => x.name === layers[1])!;
        if ("body" in a && "body" in b) [a.body, b.body] = [b.body, a.body];
      },
    });
    await assert.rejects(
      openSource(`docker-archive:${tmp}/mix.tar`),
      /layer [0-9a-f]{64}\/layer\.tar: uncompressed digest sha256:[0-9a-f]{64}, config diff_id/,
    );
  }));

Deno.test("docker-archive: names and links that leave the archive are refused", () =>
  withTemp(async (tmp) => {
    const before = await archiveTemps();
    const cases: [string, Parameters<typeof writeLegacyArchive>[2], RegExp][] = [
      ["layer path", {
        tamper: (_e, m) => ((m[0].Layers as string[])[0] = "../../etc/passwd"),
      }, /"\.\.\/\.\.\/etc\/passwd" leaves the archive/],
      ["tar entry", {
        tamper: (e) => e.push({ name: "../escaped", body: new Uint8Array([1]) }),
      }, /tar entry "\.\.\/escaped" leaves the archive/],
      ["symlink", {
        tamper: (e) => e.push({ name: "x/evil", symlink: "../../outside" }),
      }, /link target "\.\.\/outside" leaves the archive/],
      ["absolute symlink", {
        tamper: (e) => e.push({ name: "evil", symlink: "/etc/passwd" }),
      }, /links to absolute "\/etc\/passwd"/],
      ["absolute config", {
        tamper: (_e, m) => (m[0].Config = "/etc/passwd"),
      }, /"\/etc\/passwd" is an absolute path/],
    ];
    for (const [what, opts, re] of cases) {
      await writeLegacyArchive(`${tmp}/evil.tar`, [{ tags: ["e:1"], opts: {} }], opts);
      await assert.rejects(openSource(`docker-archive:${tmp}/evil.tar`), re, what);
    }
    assert.equal(await fs.stat(`${os.tmpdir()}/escaped`).catch(() => null), null);
    assert.deepEqual(await archiveTemps(), before);
  }));

Deno.test("docker-archive (Docker 25+ OCI layout): the layout's manifest, bytes kept", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    const single = await writeOciDockerArchive(`${tmp}/oci.tar`, "demo/new:v1", { seed: "n1" });
    const r = await publishFrom(
      `docker-archive:${tmp}/oci.tar:demo/new:v1`,
      store,
      "demo/new",
      "v1",
    );
    assert.equal(r.digest, single.rootDigest);
    // A two-platform index with every blob: the index is published.
    const platforms = [{ os: "linux", architecture: "amd64" }, {
      os: "linux",
      architecture: "arm64",
    }];
    const multi = await writeOciDockerArchive(`${tmp}/multi.tar`, "demo/multi:v1", {
      seed: "m",
      platforms,
    });
    const all = await publishFrom(`docker-archive:${tmp}/multi.tar`, store, "demo/multi", "all");
    assert.equal(all.digest, multi.rootDigest);
    // The other platform's manifest left out (a one-platform save): that platform's manifest.
    const other = await writeOciDockerArchive(`${tmp}/one.tar`, "demo/multi:v1", {
      seed: "m",
      platforms,
    }, [
      multi.manifests[1].digest,
    ]);
    const one = await publishFrom(`docker-archive:${tmp}/one.tar`, store, "demo/multi", "amd64");
    assert.equal(one.digest, other.manifests[0].digest);
    assert.deepEqual(await verifyStore(store, { deep: true }), []);
  }));

Deno.test("parsePublishArgs() takes the tag from a docker-archive REF", () => {
  const tag = (src: string) =>
    (parsePublishArgs([src, "demo/a", "--to", "/d"]) as { tag: string }).tag;
  assert.equal(tag("docker-archive:/x.tar:demo/a:v3"), "v3");
  assert.equal(tag("docker-archive:/x.tar:127.0.0.1:5000/a"), "latest");
  assert.equal(tag("docker-archive:/x.tar:@1"), "latest");
  assert.equal(tag("docker-archive:/x.tar"), "latest");
});
