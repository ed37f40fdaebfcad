/**
 * @module
 * Validates the pull-client harness (tests/helpers/clients.ts) against a registry we did
 * not write: Debian's docker-registry (CNCF distribution). A generated image is pushed with
 * skopeo and pulled back by skopeo, podman, ctr and docker, each of which must report the
 * source's digests. When this passes and tests/e2e/pull_test.ts fails, the bug is ours.
 */
import assert from "node:assert/strict";
import { makeOciLayout } from "../helpers/image.ts";
import { PullClients } from "../helpers/clients.ts";
import { distributionAvailable, pushLayout, startDistribution } from "../helpers/distribution.ts";

Deno.test({
  name: "pull harness: skopeo, podman, ctr and docker pull from CNCF distribution",
  ignore: !distributionAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-harness-" });
    const reg = await startDistribution();
    const clients = await PullClients.create();
    try {
      const single = await makeOciLayout(`${tmp}/single`, {
        tag: "v1",
        layers: 3,
        seed: "harness-single",
      });
      const multi = await makeOciLayout(`${tmp}/multi`, {
        tag: "v2",
        format: "docker",
        platforms: [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }],
        seed: "harness-multi",
      });
      await pushLayout(`${tmp}/single`, "v1", reg.addr, "harness/single:v1");
      await pushLayout(`${tmp}/multi`, "v2", reg.addr, "harness/multi:v2");
      const amd64 = multi.manifests.find((m) => m.platform.architecture === "amd64")!;

      await t.step("skopeo copy by tag and --all", async () => {
        const one = await clients.skopeoCopy(reg.addr, "harness/single:v1", { dest: "oci" });
        assert.equal(one.digest, single.rootDigest);
        for (const b of single.blobs) assert.ok(one.blobs.includes(b), `pulled layout lacks ${b}`);
        const all = await clients.skopeoCopy(reg.addr, "harness/multi:v2", { all: true });
        assert.equal(all.digest, multi.rootDigest);
        for (const b of multi.blobs) assert.ok(all.blobs.includes(b), `pulled layout lacks ${b}`);
      });
      await t.step("skopeo inspect --raw", async () => {
        const raw = await clients.skopeoInspectRaw(reg.addr, "harness/multi:v2");
        assert.equal(raw.digest, multi.rootDigest);
      });
      await t.step("podman pull", async () => {
        const got = await clients.podman(reg.addr, "harness/single:v1");
        assert.equal(got.digest, single.rootDigest);
        assert.ok(
          got.repoDigests.includes(`${reg.addr}/harness/single@${single.rootDigest}`),
          String(got.repoDigests),
        );
        const m = await clients.podman(reg.addr, "harness/multi:v2");
        assert.ok(
          m.repoDigests.includes(`${reg.addr}/harness/multi@${amd64.digest}`),
          String(m.repoDigests),
        );
      });
      await t.step("ctr images pull", async () => {
        assert.equal((await clients.ctr(reg.addr, "harness/single:v1")).digest, single.rootDigest);
        assert.equal((await clients.ctr(reg.addr, "harness/multi:v2")).digest, multi.rootDigest);
      });
      await t.step("docker pull", async () => {
        const got = await clients.docker(reg.addr, "harness/single:v1");
        assert.deepEqual(got.repoDigests, [`${reg.addr}/harness/single@${single.rootDigest}`]);
        const m = await clients.docker(reg.addr, "harness/multi:v2");
        assert.deepEqual(m.repoDigests, [`${reg.addr}/harness/multi@${multi.rootDigest}`]);
      });
      await t.step("every client really fetched blobs (distribution access log)", () => {
        const gets = reg.logs().split("\n").filter((l) =>
          l.includes('"GET /v2/harness/single/blobs/')
        );
        // User agents: skopeo/podman "containers/", ctr "containerd/", dockerd "docker/".
        for (const ua of ["containers/", "containerd/", "docker/"]) {
          const n = gets.filter((l) => l.includes(`"${ua}`)).length;
          assert.ok(n >= single.blobs.length, `${ua} fetched ${n} of ${single.blobs.length} blobs`);
        }
      });
    } catch (e) {
      console.error(clients.daemonLogs());
      throw e;
    } finally {
      await clients.close();
      await reg.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
