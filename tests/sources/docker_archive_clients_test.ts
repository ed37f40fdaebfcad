/**
 * @module
 * A real `docker save` (docker 20.10 here: the legacy format) of an image pulled from CNCF
 * distribution into a private dockerd, published with `docker-archive:`, served by the
 * compiled binary, and pulled back by skopeo, podman, ctr and docker. This is the check
 * that the uncompressed layer media type `application/vnd.docker.image.rootfs.diff.tar`
 * of the manifests we build is accepted by every client (docs/DOCKER_SOURCES.md).
 * Skipped when docker, the reference registry or the binary are missing.
 */
import assert from "node:assert/strict";
import { makeOciLayout } from "../helpers/image.ts";
import { distributionAvailable, pushLayout, startDistribution } from "../helpers/distribution.ts";
import { PullClients } from "../helpers/clients.ts";
import { binaryExists, startRegistry } from "../helpers/binary.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { blobKey } from "../../lib/layout/layout.ts";
import { DOCKER_LAYER } from "../../lib/sources/docker_archive.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { publishFrom, readDoc, withTemp } from "../publish/helpers.ts";

const has = async (cmd: string) =>
  await new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" })
    .output().then((o) => o.success).catch(() => false);
const ready = distributionAvailable() && binaryExists() && (await has("dockerd")) &&
  (await has("skopeo")) && (await has("podman")) && (await has("ctr"));

Deno.test({
  name: "docker-archive: a real `docker save`, published, pulls with skopeo/podman/ctr/docker",
  ignore: !ready,
  fn: () =>
    withTemp(async (tmp) => {
      const reg = await startDistribution();
      const clients = await PullClients.create({ budgetMs: 240_000 });
      let ours: Awaited<ReturnType<typeof startRegistry>> | undefined;
      try {
        const src = await makeOciLayout(`${tmp}/src`, {
          tag: "v1",
          seed: "docker-save",
          layers: 3,
          layerSize: 64 * 1024,
          format: "docker",
        });
        await pushLayout(`${tmp}/src`, "v1", reg.addr, "src/saved:v1");
        await clients.dockerSave(reg.addr, "src/saved:v1", `${tmp}/saved.tar`);

        const listing = new TextDecoder().decode(
          (await new Deno.Command("tar", { args: ["tf", `${tmp}/saved.tar`] }).output()).stdout,
        );
        // docker < 25 writes the legacy format: <id>/layer.tar, no OCI layout.
        assert.match(listing, /^manifest\.json$/m);
        assert.match(listing, /^[0-9a-f]{64}\/layer\.tar$/m, listing);
        assert.doesNotMatch(listing, /^oci-layout$/m);

        const store = new DirStore(`${tmp}/store`);
        const r = await publishFrom(
          `docker-archive:${tmp}/saved.tar:${reg.addr}/src/saved:v1`,
          store,
          "demo/saved",
          "v1",
        );
        assert.deepEqual(await verifyStore(store, { deep: true }), []);
        const m = await readDoc<{ config: { digest: string }; layers: { mediaType: string }[] }>(
          `${tmp}/store`,
          blobKey(r.digest),
        );
        // docker keeps the config bytes as pulled (its image ID is their digest).
        assert.equal(m.config.digest, src.manifests[0].config.digest);
        assert.equal(m.layers.length, 3);
        assert.ok(m.layers.every((l) => l.mediaType === DOCKER_LAYER));

        ours = await startRegistry({ config: { store: `${tmp}/store` } });
        const ref = "demo/saved:v1";
        const sk = await clients.skopeoCopy(ours.addr, ref);
        assert.equal(sk.digest, r.digest);
        const pod = await clients.podman(ours.addr, ref);
        assert.equal(pod.digest, r.digest);
        const ctr = await clients.ctr(ours.addr, ref);
        assert.equal(ctr.digest, r.digest);
        const dk = await clients.docker(ours.addr, ref);
        assert.ok(
          dk.repoDigests.includes(`${ours.addr}/demo/saved@${r.digest}`),
          dk.repoDigests.join(),
        );
        // Same image ID as the original pull: the same config, so the same image.
        assert.equal(dk.id, src.manifests[0].config.digest);
      } catch (e) {
        console.error(clients.daemonLogs());
        throw e;
      } finally {
        await ours?.stop();
        await clients.close();
        await reg.stop();
      }
    }),
});
