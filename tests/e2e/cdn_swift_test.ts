/**
 * @module
 * End-to-end in CDN mode, the setup the project exists for: images published by the
 * COMPILED binary into OpenStack Swift (s3api) as an `s3://` store, two nginx caching
 * edges (cdn mode) in front of the bucket's public URL as origins, `static-registry serve`
 * reading its index from Swift over S3, and skopeo, podman, ctr and docker pulling through
 * it. Every pull must yield the source's digests, and the edges' access logs must show that
 * every blob byte came from edge A (the preferred healthy origin): the registry answered
 * blob GETs only with 307 (distribution-spec §"Pulling blobs": a registry MAY redirect).
 */
import assert from "node:assert/strict";
import { startRegistry } from "../helpers/binary.ts";
import { PullClients } from "../helpers/clients.ts";
import { startNginx } from "../helpers/nginx.ts";
import { statuses } from "../helpers/metrics.ts";
import { startSwift } from "../helpers/swift.ts";
import { makeFixture } from "./fixture.ts";
import { pullSteps } from "./pull_steps.ts";
import {
  blobRedirect,
  edgeBlobGets,
  edgeBlobHits,
  poll,
  publishWithConfig,
  readyz,
} from "./cdn_helpers.ts";

type Started<T extends (...a: never[]) => unknown> = Awaited<ReturnType<T>>;

/** Every `static_registry_requests_total{route="blobs",...}` line: status → count. */
async function blobStatuses(url: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return statuses(text, "blobs");
}

Deno.test({
  name: "e2e cdn: publish to Swift, serve from S3, pull through two nginx edges",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-cdn-swift-" });
    let swift: Started<typeof startSwift> | undefined;
    const edges: Started<typeof startNginx>[] = [];
    let reg: Started<typeof startRegistry> | undefined;
    let clients: PullClients | undefined;
    try {
      swift = await startSwift("registry");
      await swift.makePublic(swift.bucket);
      const store = `s3://${swift.bucket}/reg`;
      const s3 = {
        endpoint: swift.endpoint,
        forcePathStyle: true,
        accessKeyId: "test:tester",
        secretAccessKey: "testing",
      };
      const cfg = `${tmp}/publish.json`;
      await Deno.writeTextFile(cfg, JSON.stringify({ store, s3 }));
      const fx = await makeFixture(
        tmp,
        (l, tag, ref) => publishWithConfig(l, tag, ref, store, cfg),
      );
      const allBlobs = new Map<string, number>();
      for (const p of [fx.single, fx.ociIndex, fx.dockerList]) {
        for (const b of p.image.blobs) allBlobs.set(b, p.image.sizes[b]);
      }

      // The bucket's anonymous URL is what a CDN would pull from.
      const upstream = `${swift.publicUrl(swift.bucket)}/reg`;
      const marker = await fetch(`${upstream}/static-registry.json`);
      const markerText = await marker.text();
      assert.equal(marker.status, 200, `Swift public marker: ${markerText}`);
      const edgeA = await startNginx({ mode: "cdn", upstream });
      edges.push(edgeA);
      const edgeB = await startNginx({ mode: "cdn", upstream });
      edges.push(edgeB);

      reg = await startRegistry({
        config: {
          store,
          s3,
          origins: [{ name: "edge-a", url: edgeA.url }, { name: "edge-b", url: edgeB.url }],
          health: { interval: "1s", timeout: "500ms", rise: 1, fall: 2 },
        },
      });
      const url = reg.url;

      await t.step("the index came from Swift over S3 and both edges are healthy", async () => {
        // Both edges answer the marker (a MISS fetched from Swift) within a round or two.
        const { value: r } = await poll(async () => {
          const r = await readyz(url);
          const o = r.body.origins as { origins: { healthy: boolean }[] } | null;
          return r.status === 200 && o?.origins.every((x) => x.healthy) ? r : null;
        }, 10_000);
        assert.ok(
          r,
          `/readyz never 200:\n${JSON.stringify((await readyz(url)).body)}\n${reg!.logs()}`,
        );
        const index = r.body.index as { repositories: number; tags: number };
        assert.equal(index.repositories, 3);
        const origins = (r.body.origins as { origins: { name: string; healthy: boolean }[] })
          .origins;
        assert.deepEqual(
          origins.map((o) => [o.name, o.healthy]),
          [["edge-a", true], ["edge-b", true]],
        );
        const layer = fx.single.image.manifests[0].layers[0].digest;
        const to = await blobRedirect(url, fx.single.repo, layer);
        assert.equal(to.status, 307);
        assert.equal(to.location, `${edgeA.url}/blobs/sha256/${layer.slice(7)}`);
      });

      clients = await PullClients.create();
      await pullSteps(t, reg.addr, fx, clients, () => edgeBlobGets(edgeA));

      await t.step("every blob byte came from edge A; edge B served none", async () => {
        const hits = await edgeBlobHits(edgeA);
        for (const [digest, size] of allBlobs) {
          const got = hits.filter((h) =>
            h.digest === digest && h.method === "GET" && (h.status === 200 || h.status === 206)
          );
          assert.ok(got.length > 0, `edge A never served ${digest}`);
          for (const h of got.filter((h) => h.status === 200)) {
            assert.equal(h.bytes, size, `edge A sent ${h.bytes} of ${size} bytes of ${digest}`);
          }
        }
        const failed = hits.filter((h) => h.status >= 400);
        assert.deepEqual(failed, [], "edge A answered some blob request with an error");
        assert.deepEqual(await edgeBlobHits(edgeB), [], "edge B (second choice) got blob requests");
      });

      await t.step("the registry answered blob GETs only with 307", async () => {
        const statuses = await blobStatuses(url);
        assert.ok((statuses.get(307) ?? 0) >= allBlobs.size, `307s: ${statuses.get(307)}`);
        assert.deepEqual(
          [...statuses.keys()],
          [307],
          `blob responses by status: ${JSON.stringify([...statuses])}`,
        );
      });
    } catch (e) {
      if (reg) console.error(`--- static-registry logs ---\n${reg.logs().slice(-6000)}`);
      if (clients) console.error(clients.daemonLogs());
      for (const edge of edges) {
        const log = await Deno.readTextFile(`${edge.dir}/error.log`).catch(() => "");
        if (log.trim()) console.error(`--- nginx ${edge.url} error.log ---\n${log.slice(-3000)}`);
      }
      throw e;
    } finally {
      await clients?.close();
      await reg?.stop();
      for (const edge of edges) await edge.close();
      await swift?.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
