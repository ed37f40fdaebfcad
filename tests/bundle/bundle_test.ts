import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { DirStore } from "../../lib/store/dir.ts";
import { openSource } from "../../lib/sources/open.ts";
import { publish } from "../../lib/publish/publish.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { exportLayout, parseExportTarget } from "../../lib/bundle/export.ts";
import { importLayout } from "../../lib/bundle/import.ts";
import { blobKey, type RepoIndex, repoIndexKey } from "../../lib/layout/layout.ts";
import { type BuiltImage, makeOciLayout } from "../helpers/image.ts";

async function tempDir(t: string) {
  return await Deno.makeTempDir({ prefix: `bundle-${t}-` });
}

/** A store with two repositories that share a base layer; one is a 2-platform index. */
async function seededStore(
  root: string,
): Promise<{ store: DirStore; a: BuiltImage; b: BuiltImage }> {
  const store = new DirStore(path.join(root, "store"));
  const a = await makeOciLayout(path.join(root, "a"), { tag: "v1", baseSeed: "base", seed: "a" });
  const b = await makeOciLayout(path.join(root, "b"), {
    tag: "v2",
    baseSeed: "base",
    seed: "b",
    platforms: [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }],
  });
  for (const [dir, name, tag] of [["a", "team/a", "v1"], ["b", "team/b", "v2"]]) {
    const source = await openSource(`oci:${path.join(root, dir)}:${tag}`);
    await publish({ source, store, name, tag });
    await source.close();
  }
  return { store, a, b };
}

async function readIndex(store: DirStore, name: string): Promise<RepoIndex> {
  const r = await store.read(repoIndexKey(name));
  assert.equal(r.status, "ok");
  return JSON.parse(new TextDecoder().decode((r as { bytes: Uint8Array }).bytes));
}

for (const kind of ["oci", "oci-archive"] as const) {
  Deno.test(`exportLayout() then importLayout() round-trips every repository (${kind})`, async () => {
    const root = await tempDir(kind);
    try {
      const { store, a, b } = await seededStore(root);
      const target = kind === "oci" ? path.join(root, "bundle") : path.join(root, "bundle.tar");
      const r = await exportLayout({ store, target: parseExportTarget(`${kind}:${target}`) });
      assert.deepEqual(r.images.map((i) => `${i.repository}:${i.tag}@${i.digest}`), [
        `team/a:v1@${a.rootDigest}`,
        `team/b:v2@${b.rootDigest}`,
      ]);
      // The shared base layer is written once.
      const objects = new Set([...Object.keys(a.sizes), ...Object.keys(b.sizes)]);
      assert.equal(r.blobs, objects.size);

      const dest = new DirStore(path.join(root, "dest"));
      const results = await importLayout({ source: `${kind}:${target}`, store: dest });
      assert.deepEqual(results.map((x) => `${x.name}:${x.tag}@${x.digest}`), [
        `team/a:v1@${a.rootDigest}`,
        `team/b:v2@${b.rootDigest}`,
      ]);
      assert.deepEqual(await verifyStore(dest), []);
      // Everything but the tag set times: import sets its tags when it runs.
      const { tagged: setHere, ...imported } = await readIndex(dest, "team/b");
      const { tagged: setThere, ...exported } = await readIndex(store, "team/b");
      assert.deepEqual(imported, exported);
      assert.deepEqual(Object.keys(setHere ?? {}), Object.keys(setThere ?? {}));
      if (kind === "oci-archive") {
        const left = await fs.readdir(root);
        assert.ok(!left.some((f) => f.endsWith(".part")), `no partial file left: ${left}`);
      }
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
}

Deno.test("exportLayout() selects repositories and single tags", async () => {
  const root = await tempDir("select");
  try {
    const { store, b } = await seededStore(root);
    const target = path.join(root, "one");
    const r = await exportLayout({
      store,
      target: { kind: "oci", path: target },
      select: ["team/b:v2"],
    });
    assert.deepEqual(r.images, [{ repository: "team/b", tag: "v2", digest: b.rootDigest }]);
    const index = JSON.parse(await fs.readFile(path.join(target, "index.json"), "utf8"));
    assert.deepEqual(index.manifests[0].annotations, {
      "org.opencontainers.image.ref.name": "v2",
      "io.containerd.image.name": "team/b:v2",
    });
    await assert.rejects(
      exportLayout({ store, target: { kind: "oci", path: target }, select: ["team/b:nope"] }),
      /repository "team\/b" has no tag "nope"/,
    );
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});

Deno.test("exportLayout() refuses a corrupt blob in the store and writes no index.json", async () => {
  const root = await tempDir("corrupt");
  try {
    const { store, a } = await seededStore(root);
    const victim = a.manifests[0].layers.at(-1)!.digest;
    await fs.writeFile(store.pathOf(blobKey(victim)), "not the layer");
    const target = path.join(root, "out");
    await assert.rejects(
      exportLayout({ store, target: { kind: "oci", path: target }, select: ["team/a"] }),
      new RegExp(victim.replace(":", ".")),
    );
    await assert.rejects(fs.access(path.join(target, "index.json")));
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});

Deno.test("importLayout() needs --repo for layouts that carry only tags", async () => {
  const root = await tempDir("repo");
  try {
    const img = await makeOciLayout(path.join(root, "src"), { tag: "v9" });
    const dest = new DirStore(path.join(root, "dest"));
    await assert.rejects(
      importLayout({ source: `oci:${path.join(root, "src")}`, store: dest }),
      /--repo was not given/,
    );
    const [r] = await importLayout({
      source: `oci:${path.join(root, "src")}`,
      store: dest,
      repo: "x/y",
    });
    assert.equal(`${r.name}:${r.tag}`, "x/y:v9");
    assert.equal(r.digest, img.rootDigest);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});

Deno.test("an exported layout is readable by skopeo (interoperability)", async () => {
  const root = await tempDir("skopeo");
  try {
    const { store, b } = await seededStore(root);
    const target = path.join(root, "for-skopeo");
    await exportLayout({ store, target: { kind: "oci", path: target }, select: ["team/b"] });
    const out = await new Deno.Command("skopeo", {
      args: ["inspect", "--raw", `oci:${target}:v2`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const raw = out.stdout;
    const { createHash } = await import("node:crypto");
    assert.equal(`sha256:${createHash("sha256").update(raw).digest("hex")}`, b.rootDigest);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});
