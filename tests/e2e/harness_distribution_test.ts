/**
 * @module
 * Validates the pull-client harness (tests/helpers/clients.ts, tests/e2e/pull_steps.ts)
 * against a registry we did not write: Debian's docker-registry (CNCF distribution). The
 * fixture images are pushed into it and pulled back by skopeo, podman, ctr and docker with
 * exactly the assertions pull_test.ts makes against our binary. When this passes and
 * pull_test.ts fails, the bug is in the product, not the harness.
 */
import assert from "node:assert/strict";
import { PullClients } from "../helpers/clients.ts";
import { distributionAvailable, pushLayout, startDistribution } from "../helpers/distribution.ts";
import { makeFixture } from "./fixture.ts";
import { pullSteps } from "./pull_steps.ts";

Deno.test({
  name: "pull harness: skopeo, podman, ctr and docker pull the fixture from CNCF distribution",
  ignore: !distributionAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-harness-" });
    const reg = await startDistribution();
    const clients = await PullClients.create();
    try {
      const fx = await makeFixture(tmp, (l, tag, ref) => pushLayout(l, tag, reg.addr, ref));
      // Access log lines: ... "GET /v2/<name>/blobs/<digest> HTTP/1.1" 200 <size> ...
      const gets = () =>
        Promise.resolve(
          reg.logs().split("\n").filter((l) =>
            /"GET \/v2\/\S+\/blobs\/\S+ HTTP\/1\.1" 200 /.test(l)
          )
            .length,
        );
      await pullSteps(t, reg.addr, fx, clients, gets);
      await t.step("every client really fetched blobs (distribution access log)", () => {
        const prefix = `"GET /v2/${fx.single.repo}/blobs/`;
        const gets = reg.logs().split("\n").filter((l) => l.includes(prefix));
        // User agents: skopeo/podman "containers/", ctr "containerd/", dockerd "docker/".
        for (const ua of ["containers/", "containerd/", "docker/"]) {
          const n = gets.filter((l) => l.includes(`"${ua}`)).length;
          const want = fx.single.image.blobs.length;
          assert.ok(n >= want, `${ua} fetched ${n} of ${want} blobs of ${fx.single.repo}`);
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
