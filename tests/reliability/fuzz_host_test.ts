/**
 * @module
 * The Host-header cases of the fuzzer as a fixed table (issue 9, defect 5): against the
 * COMPILED binary (Bun builds `req.url` from the Host, and hands over the target alone
 * when it cannot), over raw sockets, each target with every odd Host must get the status
 * it gets with a good Host. Before the fix `GET /readyz HTTP/1.0` was 404 and
 * `GET /v2/metrics HTTP/1.0` served the metrics (the url was split one segment late).
 */
import assert from "node:assert/strict";
import { GOOD_HOST, ODD_HOSTS } from "./fuzz_grammar.ts";
import { rawRequest } from "./raw_http.ts";
import { withServedStore } from "./registry.ts";

function head(target: string, host: string | null): Uint8Array {
  const text = host === null
    ? `GET ${target} HTTP/1.0\r\n\r\n`
    : `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

Deno.test({
  name: "binary: routing reads the request-target alone, whatever the Host header",
  sanitizeResources: false,
  fn: () =>
    withServedStore(async (reg, s) => {
      const layer = s.repos["rel/single"].manifests[0].layers[0];
      const table: [target: string, status: number][] = [
        ["/readyz", 200],
        ["/healthz", 200],
        ["/metrics", 200],
        ["/v2/", 200],
        ["/v2/_catalog", 200],
        ["/v2/rel/single/tags/list", 200],
        ["/v2/rel/single/manifests/v1", 200],
        [`/v2/rel/single/blobs/${layer.digest}`, 200],
        // One segment late, these were /metrics, /readyz, /_catalog... : all 404 here.
        ["/v2/metrics", 404],
        ["/v2/readyz", 404],
        ["/x/v2/_catalog", 404],
        ["/v2/rel/single/x/tags/list", 404],
        // Dot segments resolve the same with and without a Host.
        ["/a/../readyz", 200],
        ["/v2/%2e%2e/metrics", 200],
      ];
      const wrong: string[] = [];
      for (const [target, status] of table) {
        for (const host of [GOOD_HOST, ...ODD_HOSTS]) {
          const res = await rawRequest(reg.port, head(target, host));
          if (res.status !== status) {
            wrong.push(
              `GET ${target} Host=${JSON.stringify(host)}: ${res.status}, want ${status}`,
            );
          }
        }
      }
      assert.deepEqual(wrong, []);
      // HTTP/1.1 without Host is the runtime's to refuse (RFC 9112 §3.2: 400).
      const noHost = await rawRequest(
        reg.port,
        new TextEncoder().encode("GET /readyz HTTP/1.1\r\nConnection: close\r\n\r\n"),
      );
      assert.equal(noHost.status, 400);
    }),
});
