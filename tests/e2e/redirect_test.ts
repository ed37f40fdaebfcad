/**
 * @module
 * End-to-end with origins: the COMPILED binary redirects every blob GET (307) to the first
 * healthy origin — here nginx serving the store directory, behind a dead origin listed
 * first — and skopeo, podman, ctr and docker follow the redirect and get the source's
 * digests (DESIGN.md "Origins and the health checker"; distribution-spec §"Pulling blobs":
 * a registry MAY redirect a blob GET). The blob bytes are counted in nginx's access log:
 * the registry itself must not stream a single blob.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startRegistry } from "../helpers/binary.ts";
import { PullClients } from "../helpers/clients.ts";
import { startNginx } from "../helpers/nginx.ts";
import { requestCount } from "../helpers/metrics.ts";
import { freePort } from "../helpers/ports.ts";
import { printFailureLogs, publishedStore } from "./fixture.ts";
import { pullSteps } from "./pull_steps.ts";

/** Requests counted in /metrics for one route family and status. */
async function metric(url: string, route: string, status: number): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return requestCount(text, route, status);
}

Deno.test({
  name: "e2e: blob GETs redirect to the healthy origin and every client follows them",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-redirect-" });
    let edge: Awaited<ReturnType<typeof startNginx>> | undefined;
    let reg: Awaited<ReturnType<typeof startRegistry>> | undefined;
    let clients: PullClients | undefined;
    try {
      const { store, fx } = await publishedStore(tmp);
      edge = await startNginx({ mode: "static", root: store });
      const dead = `http://127.0.0.1:${freePort()}`; // nothing listens there
      reg = await startRegistry({
        config: {
          store,
          origins: [{ name: "dead", url: dead }, { name: "edge", url: edge.url }],
          health: { interval: "300ms", timeout: "200ms", rise: 1, fall: 1 },
        },
      });
      const url = reg.url;
      const layer = fx.single.image.manifests[0].layers[0];
      const blobUrl = `${url}/v2/${fx.single.repo}/blobs/${layer.digest}`;

      await t.step(
        "blob GET → 307 to the healthy origin, which serves the exact bytes",
        async () => {
          // The health checker needs a round or two to mark "dead" down and "edge" up.
          let res: Response | undefined;
          for (const until = Date.now() + 10_000; Date.now() < until;) {
            res = await fetch(blobUrl, { redirect: "manual" });
            await res.body?.cancel();
            if (res.status === 307 && res.headers.get("location")?.startsWith(edge!.url)) break;
            await new Promise((r) => setTimeout(r, 200));
          }
          assert.equal(
            res?.status,
            307,
            `blob GET status ${res?.status}\n${reg!.logs().slice(-3000)}`,
          );
          const location = res.headers.get("location")!;
          assert.equal(location, `${edge!.url}/blobs/sha256/${layer.digest.slice(7)}`);
          const bytes = new Uint8Array(await (await fetch(location)).arrayBuffer());
          assert.equal(`sha256:${createHash("sha256").update(bytes).digest("hex")}`, layer.digest);
          const head = await fetch(blobUrl, { method: "HEAD", redirect: "manual" });
          assert.equal(head.status, 200, "blob HEAD is answered by the registry itself");
          assert.equal(head.headers.get("content-length"), String(layer.size));
        },
      );

      clients = await PullClients.create();
      // nginx "combined" log: ... "GET /blobs/sha256/<hex> HTTP/1.1" 200 <bytes> ...
      const edgeGets = async () =>
        (await Deno.readTextFile(`${edge!.dir}/access.log`)).split("\n")
          .filter((l) => /"GET \/blobs\/sha256\/[0-9a-f]{64} HTTP\/1\.1" 20[06] /.test(l)).length;
      await pullSteps(t, reg.addr, fx, clients, edgeGets);

      await t.step("the registry streamed no blob itself: every blob GET was a 307", async () => {
        assert.equal(await metric(url, "blobs", 200), 1, "only the HEAD of the first step");
        assert.ok(await metric(url, "blobs", 307) > 0);
      });
    } catch (e) {
      printFailureLogs([reg], clients);
      throw e;
    } finally {
      await clients?.close();
      await reg?.stop();
      await edge?.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
