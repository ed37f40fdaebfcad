/**
 * @module
 * End-to-end: images published by the COMPILED binary into a directory store, served by
 * `static-registry serve`, pulled by the real clients — skopeo, podman, containerd's ctr
 * and docker (private dockerd). Every pull must yield the source's digests: the registry
 * serves the exact stored bytes (distribution-spec §"Pulling manifests"), so a digest
 * mismatch or a refused Content-Type is a product bug. tests/e2e/harness_distribution_test.ts
 * runs the same clients against CNCF distribution, to tell harness bugs from ours.
 */
import assert from "node:assert/strict";
import { startRegistry } from "../helpers/binary.ts";
import { PullClients } from "../helpers/clients.ts";
import { printFailureLogs, publishedStore } from "./fixture.ts";
import { pullSteps } from "./pull_steps.ts";
import { requestCount } from "../helpers/metrics.ts";

/** `static_registry_requests_total{route="blobs",status="200"}` (all methods) from /metrics. */
async function blobGets(url: string): Promise<number> {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  assert.equal(res.status, 200, `/metrics: ${text}`);
  return requestCount(text, "blobs", 200);
}

Deno.test({
  name: "e2e: skopeo, podman, ctr and docker pull what publish wrote and serve serves",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-pull-" });
    let reg: Awaited<ReturnType<typeof startRegistry>> | undefined;
    let clients: PullClients | undefined;
    try {
      const { store, fx } = await publishedStore(tmp);
      reg = await startRegistry({ config: { store } });
      clients = await PullClients.create();
      const url = reg.url;
      await pullSteps(t, reg.addr, fx, clients, () => blobGets(url));
    } catch (e) {
      printFailureLogs([reg], clients);
      throw e;
    } finally {
      await clients?.close();
      await reg?.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
