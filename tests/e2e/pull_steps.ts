/**
 * @module
 * The pull checks shared by the end-to-end test of our binary (pull_test.ts) and the
 * harness check against CNCF distribution (harness_distribution_test.ts): the same
 * assertions on both, so a failure only against ours is a product bug. Each client pulls
 * by tag and by digest and must report the source's digests (distribution-spec
 * §"Pulling manifests": the registry serves the exact bytes the digest names).
 */
import assert from "node:assert/strict";
import type { PullClients } from "../helpers/clients.ts";
import { amd64, type Fixture, type PublishedImage } from "./fixture.ts";

/**
 * Runs one `t.step` per client against the registry at `addr` holding `fx`.
 * `blobGets` reads the registry's count of successful blob GETs so far; each pulling step
 * then also asserts that the client really fetched at least the blobs it needed (fresh
 * storage per pull: nothing may come from a local cache).
 */
export async function pullSteps(
  t: Deno.TestContext,
  addr: string,
  fx: Fixture,
  c: PullClients,
  blobGets: () => Promise<number>,
) {
  const { single, ociIndex, dockerList } = fx;
  const byTag = (p: PublishedImage) => `${p.repo}:${p.tag}`;
  const byDigest = (p: PublishedImage, d = p.image.rootDigest) => `${p.repo}@${d}`;
  const n = (p: PublishedImage, platforms = p.image.manifests.length) =>
    p.image.blobs.length / p.image.manifests.length * platforms;
  /** A step that must cause at least `min` blob GETs at the registry. */
  const step = (name: string, min: number, fn: () => Promise<void>) =>
    t.step(name, async () => {
      const before = await blobGets();
      await fn();
      const fetched = (await blobGets()) - before;
      assert.ok(
        fetched >= min,
        `${name}: ${fetched} blob GETs reached the registry, want >= ${min}`,
      );
    });

  await step("skopeo copy: image by tag and by digest, every blob", 2 * n(single), async () => {
    for (const ref of [byTag(single), byDigest(single)]) {
      const got = await c.skopeoCopy(addr, ref, { dest: "oci" });
      assert.equal(got.digest, single.image.rootDigest, ref);
      for (const b of single.image.blobs) assert.ok(got.blobs.includes(b), `${ref}: lacks ${b}`);
    }
  });
  await step(
    "skopeo copy --all: OCI index and Docker list, byte for byte",
    2 * (n(ociIndex) + n(dockerList)),
    async () => {
      for (const p of [ociIndex, dockerList]) {
        for (const ref of [byTag(p), byDigest(p)]) {
          const got = await c.skopeoCopy(addr, ref, { all: true });
          assert.equal(got.digest, p.image.rootDigest, ref);
          assert.equal(got.mediaType, p.image.rootMediaType, ref);
          const want = [...p.image.blobs, ...p.image.manifests.map((m) => m.digest)];
          for (const d of want) assert.ok(got.blobs.includes(d), `${ref}: lacks ${d}`);
        }
      }
    },
  );
  await t.step("skopeo inspect --raw: exact manifest bytes by tag and by digest", async () => {
    for (const p of [single, ociIndex, dockerList]) {
      const raw = await c.skopeoInspectRaw(addr, byTag(p));
      assert.equal(raw.digest, p.image.rootDigest, byTag(p));
      const child = p.image.manifests[p.image.manifests.length - 1].digest;
      assert.equal((await c.skopeoInspectRaw(addr, byDigest(p, child))).digest, child);
    }
  });
  await step(
    "podman pull: image, OCI index, Docker list (amd64 child)",
    2 * n(single) + n(ociIndex, 1) + n(dockerList, 1),
    async () => {
      const got = await c.podman(addr, byTag(single));
      assert.equal(got.digest, single.image.rootDigest);
      assert.ok(
        got.repoDigests.includes(`${addr}/${single.repo}@${single.image.rootDigest}`),
        `RepoDigests ${got.repoDigests}`,
      );
      for (const p of [ociIndex, dockerList]) {
        const m = await c.podman(addr, byTag(p));
        const want = `${addr}/${p.repo}@${amd64(p).digest}`;
        assert.ok(m.repoDigests.includes(want), `${byTag(p)}: RepoDigests ${m.repoDigests}`);
      }
      const d = await c.podman(addr, byDigest(single));
      assert.equal(d.digest, single.image.rootDigest);
    },
  );
  await step(
    "ctr images pull: target digest and media type",
    n(single) + n(ociIndex, 1) + n(dockerList, 1) + n(ociIndex),
    async () => {
      for (const p of [single, ociIndex, dockerList]) {
        const got = await c.ctr(addr, byTag(p));
        assert.equal(got.digest, p.image.rootDigest, byTag(p));
        assert.equal(got.mediaType, p.image.rootMediaType, byTag(p));
      }
      const all = await c.ctr(addr, byDigest(ociIndex), { allPlatforms: true });
      assert.equal(all.digest, ociIndex.image.rootDigest);
    },
  );
  await step(
    "docker pull: RepoDigests by tag and by digest",
    2 * n(single) + n(ociIndex, 1) + n(dockerList, 1),
    async () => {
      for (const p of [single, ociIndex, dockerList]) {
        const got = await c.docker(addr, byTag(p));
        assert.deepEqual(got.repoDigests, [`${addr}/${p.repo}@${p.image.rootDigest}`], byTag(p));
      }
      const got = await c.docker(addr, byDigest(single));
      assert.deepEqual(got.repoDigests, [`${addr}/${single.repo}@${single.image.rootDigest}`]);
    },
  );
}
