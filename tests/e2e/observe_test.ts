/**
 * @module
 * End-to-end observability through the COMPILED binary: after a known sequence of
 * requests from a known source address (curl --interface 127.0.0.2), the access log on
 * stderr holds exactly those lines with their fields (the 307's origin a real nginx
 * edge), written before the "stopped" line at SIGTERM although they are buffered;
 * `/metrics` is served on `metrics.listen` only, counts the same requests, and passes
 * `promtool check metrics` (Debian's prometheus package).
 */
import assert from "node:assert/strict";
import { startRegistry } from "../helpers/binary.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { requestCount, sample } from "../helpers/metrics.ts";
import { startNginx } from "../helpers/nginx.ts";
import { freePort } from "../helpers/ports.ts";
import { publish } from "./fixture.ts";

/** GET (or HEAD) from 127.0.0.2 with curl: the status. */
async function curl(url: string, method = "GET"): Promise<number> {
  const args = ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--interface", "127.0.0.2"];
  if (method === "HEAD") args.push("-I");
  const r = await new Deno.Command("curl", { args: [...args, url], stderr: "piped" }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  return Number(new TextDecoder().decode(r.stdout));
}

Deno.test({
  name: "e2e: access log lines, /metrics on metrics.listen only, promtool check metrics",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-observe-" });
    const store = `${tmp}/store`;
    const image = await makeOciLayout(`${tmp}/src`, { tag: "v1", layers: 2, seed: "observe" });
    await publish(`${tmp}/src`, "v1", "obs/app:v1", store);
    const edge = await startNginx({ mode: "static", root: store });
    const metricsPort = freePort();
    const reg = await startRegistry({
      config: {
        store,
        origins: [{ name: "edge", url: edge.url }],
        health: { interval: "1s", timeout: "500ms", rise: 1, fall: 1 },
        metrics: { listen: `127.0.0.1:${metricsPort}` },
      },
    });
    let stopped = false;
    try {
      const layer = image.manifests[0].layers[0].digest;
      const v2 = `${reg.url}/v2/obs/app`;
      assert.equal(await curl(`${v2}/manifests/v1`), 200);
      assert.equal(await curl(`${v2}/manifests/v1`, "HEAD"), 200);
      assert.equal(await curl(`${v2}/blobs/${layer}`), 307);
      assert.equal(await curl(`${v2}/manifests/nope`), 404);
      assert.equal(await curl(`${reg.url}/healthz`), 200);
      assert.equal(await curl(`${reg.url}/metrics`), 404, "not on the API address");

      const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
      const res = await fetch(metricsUrl);
      const text = await res.text();
      assert.equal(res.status, 200);
      assert.equal(await curl(`http://127.0.0.1:${metricsPort}/v2/`), 404, "only /metrics there");
      assert.equal(requestCount(text, "manifests", 200), 2);
      assert.equal(requestCount(text, "manifests", 404), 1);
      assert.equal(requestCount(text, "blobs", 307), 1);
      assert.equal(sample(text, 'static_registry_redirects_total{origin="edge"}'), 1);
      assert.equal(sample(text, 'static_registry_origin_up{origin="edge"}'), 1);
      assert.ok(sample(text, 'static_registry_origin_check_duration_seconds{origin="edge"}')! > 0);
      assert.ok(sample(text, "static_registry_index_age_seconds")! >= 0);
      assert.equal(
        sample(text, 'static_registry_request_duration_seconds_count{route="manifests"}'),
        3,
      );

      const check = new Deno.Command("promtool", {
        args: ["check", "metrics"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const w = check.stdin.getWriter();
      await w.write(new TextEncoder().encode(text));
      await w.close();
      const out = await check.output();
      const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `promtool check metrics:\n${said}`);
      assert.equal(said.trim(), "", `promtool has remarks:\n${said}`);

      await reg.stop();
      stopped = true;
      const lines = reg.logs().split("\n").filter((l) => l.startsWith("{")).map((l) =>
        JSON.parse(l)
      );
      // The harness's readiness polls (GET /v2/ from 127.0.0.1) are logged too.
      const all = lines.filter((l) => l.msg === "request");
      assert.ok(all.some((l) => l.path === "/v2/" && l.client === "127.0.0.1"));
      const requests = all.filter((l) => l.client === "127.0.0.2");
      const strip = ({ time: _t, ms, level: _l, msg: _m, ...rest }: Record<string, unknown>) => {
        assert.equal(typeof ms, "number");
        return rest;
      };
      assert.deepEqual(requests.map(strip), [
        {
          method: "GET",
          path: "/v2/obs/app/manifests/v1",
          status: 200,
          bytes: image.rootSize,
          client: "127.0.0.2",
          repo: "obs/app",
        },
        {
          method: "HEAD",
          path: "/v2/obs/app/manifests/v1",
          status: 200,
          bytes: 0,
          client: "127.0.0.2",
          repo: "obs/app",
        },
        {
          method: "GET",
          path: `/v2/obs/app/blobs/${layer}`,
          status: 307,
          bytes: 0,
          client: "127.0.0.2",
          repo: "obs/app",
          origin: "edge",
        },
        {
          method: "GET",
          path: "/v2/obs/app/manifests/nope",
          status: 404,
          bytes: requests[3].bytes,
          client: "127.0.0.2",
          repo: "obs/app",
        },
      ], "health probes and /metrics at debug: not logged at info");
      assert.ok((requests[3].bytes as number) > 0);
      const msgs = lines.map((l) => l.msg);
      assert.equal(msgs.at(-1), "stopped", "the access lines were flushed before it");
      assert.ok(
        msgs.lastIndexOf("request") < msgs.indexOf("shutting down: draining in-flight requests"),
      );
    } finally {
      if (!stopped) await reg.stop();
      await edge.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
