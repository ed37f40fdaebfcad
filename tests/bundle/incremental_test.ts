/**
 * @module
 * Incremental bundles (lib/bundle/incremental.ts): `export --since` writes only what the
 * far side lacks and records what it omitted; `import` of one into a store holding its
 * base round-trips (chains of them too), and into a store that lacks any of it is
 * refused, naming the first missing object and how many, with nothing written.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { DirStore } from "../../lib/store/dir.ts";
import { exportLayout } from "../../lib/bundle/export.ts";
import { importLayout } from "../../lib/bundle/import.ts";
import { BUNDLE_ANNOTATION, heldAfter, RECORD_MEDIA_TYPE } from "../../lib/bundle/incremental.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { blobKey, type RepoIndex, repoIndexKey } from "../../lib/layout/layout.ts";
import { UsageError } from "../../lib/cli/usage.ts";
import { type BuiltImage, makeOciLayout } from "../helpers/image.ts";
import { runBinary } from "../helpers/binary.ts";
import { publishFrom, readDoc, snapshot, withTemp } from "../publish/helpers.ts";
import { appFor } from "../server/harness.ts";

/** Every digest an image consists of (manifests, index, config, layers). */
const objectsOf = (i: BuiltImage) => new Set(Object.keys(i.sizes));

/** The digests under blobs/ of layout directory `dir`. */
async function blobsIn(dir: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const alg of await fs.readdir(`${dir}/blobs`)) {
    for (const hex of await fs.readdir(`${dir}/blobs/${alg}`)) out.add(`${alg}:${hex}`);
  }
  return out;
}

/**
 * A source store with app:v1, exported in full (b1) and imported into the far store;
 * then app:v2 (sharing v1's base layer) and tool:v1 published at the source.
 */
async function scenario(tmp: string) {
  const src = new DirStore(`${tmp}/src`);
  const far = new DirStore(`${tmp}/far`);
  const v1 = await makeOciLayout(`${tmp}/l1`, { tag: "v1", baseSeed: "base", seed: "one" });
  await publishFrom(`oci:${tmp}/l1:v1`, src, "team/app", "v1");
  await exportLayout({ store: src, target: { kind: "oci-archive", path: `${tmp}/b1.tar` } });
  await importLayout({ source: `oci-archive:${tmp}/b1.tar`, store: far });
  const v2 = await makeOciLayout(`${tmp}/l2`, { tag: "v2", baseSeed: "base", seed: "two" });
  await publishFrom(`oci:${tmp}/l2:v2`, src, "team/app", "v2");
  const tool = await makeOciLayout(`${tmp}/l3`, { tag: "v1", seed: "tool" });
  await publishFrom(`oci:${tmp}/l3:v1`, src, "tool", "v1");
  return { src, far, v1, v2, tool };
}

Deno.test("export --since writes only what the far side lacks; import onto its base round-trips", () =>
  withTemp(async (tmp) => {
    const { src, far, v1, v2, tool } = await scenario(tmp);
    const r = await exportLayout({
      store: src,
      target: { kind: "oci", path: `${tmp}/b2` },
      since: `oci-archive:${tmp}/b1.tar`,
    });
    // Everything of v1 (still tagged, so referenced) and v2's shared base layer are held.
    const held = objectsOf(v1);
    const want = new Set([...objectsOf(v2), ...objectsOf(tool)].filter((d) => !held.has(d)));
    const written = await blobsIn(`${tmp}/b2`);
    const index = JSON.parse(await Deno.readTextFile(`${tmp}/b2/index.json`));
    const recordDigest = index.annotations[BUNDLE_ANNOTATION];
    assert.deepEqual(
      new Set([...written].filter((d) => d !== recordDigest)),
      want,
      "exactly the objects the far side lacks",
    );
    assert.ok(v2.manifests[0].layers.length >= 2);
    assert.ok(!written.has(v2.manifests[0].layers[0].digest), "the shared base layer is left out");
    assert.equal(r.blobs, want.size);
    assert.equal(r.omitted?.objects, held.size);
    assert.equal(
      r.omitted?.bytes,
      [...held].reduce((a, d) => a + v1.sizes[d], 0),
    );
    // Every tag is still named, so import moves each one.
    assert.deepEqual(
      index.manifests.map((m: { annotations: Record<string, string> }) =>
        m.annotations["io.containerd.image.name"]
      ).sort(),
      ["team/app:v1", "team/app:v2", "tool:v1"],
    );
    const record = JSON.parse(
      await Deno.readTextFile(`${tmp}/b2/blobs/${recordDigest.replace(":", "/")}`),
    );
    assert.equal(record.mediaType, RECORD_MEDIA_TYPE);
    assert.equal(record.since, `oci-archive:${tmp}/b1.tar`);
    assert.deepEqual(
      record.buildsOn.map((o: { digest: string }) => o.digest),
      [...held].sort(),
    );

    const imported = await importLayout({ source: `oci:${tmp}/b2`, store: far });
    assert.equal(imported.length, 3);
    assert.deepEqual(await verifyStore(far, { deep: true }), []);
    const appIdx = await readDoc<RepoIndex>(`${tmp}/far`, repoIndexKey("team/app"));
    assert.deepEqual({ ...appIdx.tags }, { v1: v1.rootDigest, v2: v2.rootDigest });
    const { app } = await appFor(far);
    const res = await app.request("/v2/tool/manifests/v1");
    assert.equal(res.headers.get("docker-content-digest"), tool.rootDigest);
    await res.body?.cancel();

    // A chain: b3 --since b2 (itself incremental) omits what b1 and b2 brought.
    const v3 = await makeOciLayout(`${tmp}/l4`, { tag: "v3", baseSeed: "base", seed: "three" });
    await publishFrom(`oci:${tmp}/l4:v3`, src, "team/app", "v3");
    const held2 = await heldAfter(`oci:${tmp}/b2`);
    assert.deepEqual(
      new Set(held2.keys()),
      new Set([...objectsOf(v1), ...objectsOf(v2), ...objectsOf(tool)]),
    );
    const r3 = await exportLayout({
      store: src,
      target: { kind: "oci-archive", path: `${tmp}/b3.tar` },
      since: `oci:${tmp}/b2`,
    });
    const new3 = [...objectsOf(v3)].filter((d) => !held2.has(d));
    assert.equal(r3.blobs, new3.length);
    await importLayout({ source: `oci-archive:${tmp}/b3.tar`, store: far });
    assert.deepEqual(await verifyStore(far, { deep: true }), []);
    const appIdx3 = await readDoc<RepoIndex>(`${tmp}/far`, repoIndexKey("team/app"));
    assert.equal(appIdx3.tags.v3, v3.rootDigest);
  }));

Deno.test("import of an incremental bundle refuses a store lacking its base, writing nothing", () =>
  withTemp(async (tmp) => {
    const { src, far, v1 } = await scenario(tmp);
    await exportLayout({
      store: src,
      target: { kind: "oci-archive", path: `${tmp}/b2.tar` },
      since: `oci-archive:${tmp}/b1.tar`,
    });
    const base = [...objectsOf(v1)].sort();

    // A new store: every object it builds on is missing.
    const empty = new DirStore(`${tmp}/empty`);
    await assert.rejects(
      () => importLayout({ source: `oci-archive:${tmp}/b2.tar`, store: empty }),
      (e: Error) => {
        assert.match(e.message, /is an incremental bundle built on oci-archive:.*b1\.tar/);
        assert.match(e.message, new RegExp(`lacks ${base.length} of the ${base.length} object`));
        assert.ok(e.message.includes(`first: ${base[0]}, ${v1.sizes[base[0]]} bytes`), e.message);
        assert.match(e.message, /nothing was written/);
        return true;
      },
    );
    assert.deepEqual(await snapshot(`${tmp}/empty`).catch(() => ({})), {});

    // The far store with one base blob gone (and one truncated: a size mismatch counts).
    const layer = v1.manifests[0].layers[1].digest;
    const config = v1.manifests[0].config.digest;
    await fs.rm(`${tmp}/far/${blobKey(layer)}`);
    await fs.writeFile(`${tmp}/far/${blobKey(config)}`, "x");
    const before = await snapshot(`${tmp}/far`);
    const first = [layer, config].sort()[0];
    await assert.rejects(
      () => importLayout({ source: `oci-archive:${tmp}/b2.tar`, store: far }),
      (e: Error) => {
        assert.match(e.message, new RegExp(`lacks 2 of the ${base.length} object`));
        assert.ok(e.message.includes(`first: ${first}`), e.message);
        return true;
      },
    );
    assert.deepEqual(await snapshot(`${tmp}/far`), before, "the store is as it was");
  }));

Deno.test("export --since refuses an existing layout directory and a source that is no bundle", () =>
  withTemp(async (tmp) => {
    const { src } = await scenario(tmp);
    await exportLayout({ store: src, target: { kind: "oci", path: `${tmp}/dir` } });
    await assert.rejects(
      () =>
        exportLayout({
          store: src,
          target: { kind: "oci", path: `${tmp}/dir` },
          since: `oci-archive:${tmp}/b1.tar`,
        }),
      (e: Error) => e instanceof UsageError && /already holds a layout/.test(e.message),
    );
    await assert.rejects(
      () =>
        exportLayout({
          store: src,
          target: { kind: "oci-archive", path: `${tmp}/x.tar` },
          since: `docker://example.com/x:1`,
        }),
      (e: Error) =>
        e instanceof UsageError && /--since "docker:\/\/.*" must be oci:DIR/.test(e.message),
    );
    await assert.rejects(() => fs.stat(`${tmp}/x.tar`), "nothing written");
  }));

Deno.test("import refuses an incremental bundle whose record was tampered with", () =>
  withTemp(async (tmp) => {
    const { src, far } = await scenario(tmp);
    await exportLayout({
      store: src,
      target: { kind: "oci", path: `${tmp}/b2` },
      since: `oci-archive:${tmp}/b1.tar`,
    });
    const index = JSON.parse(await Deno.readTextFile(`${tmp}/b2/index.json`));
    const file = `${tmp}/b2/blobs/${index.annotations[BUNDLE_ANNOTATION].replace(":", "/")}`;
    const text = await Deno.readTextFile(file);
    await Deno.writeTextFile(file, text.replace(/"buildsOn":\[\{[^}]*\},?/, '"buildsOn":['));
    const before = await snapshot(`${tmp}/far`);
    await assert.rejects(
      () => importLayout({ source: `oci:${tmp}/b2`, store: far }),
      /bundle record.*(digest|size)/i,
    );
    assert.deepEqual(await snapshot(`${tmp}/far`), before);
  }));

Deno.test({
  name: "export --since (CLI) says what it left out; import --since is a usage error",
  sanitizeResources: false,
  fn: () =>
    withTemp(async (tmp) => {
      await scenario(tmp);
      const r = await runBinary([
        "export",
        "--from",
        `${tmp}/src`,
        "--since",
        `oci-archive:${tmp}/b1.tar`,
        `oci-archive:${tmp}/b2.tar`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /object\(s\) \(.*\) left out: held since oci-archive:/);
      const bad = await runBinary(["import", "--since", "x", `oci-archive:${tmp}/b2.tar`]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--since belongs to export/);
      const lacking = await runBinary([
        "import",
        `oci-archive:${tmp}/b2.tar`,
        "--to",
        `${tmp}/new`,
      ]);
      assert.equal(lacking.code, 1, lacking.stderr);
      assert.match(lacking.stderr, /is an incremental bundle built on .*lacks \d+ of the/);
    }),
});
