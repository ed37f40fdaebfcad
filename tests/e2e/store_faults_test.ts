/**
 * @module
 * End-to-end bad input for the COMPILED binary in CDN mode: a store unreachable at start
 * (the process keeps running, says why, retries, `/readyz` is 503 until the store appears),
 * origins that answer 5xx or hang (marked unhealthy within interval + fall×(interval +
 * timeout), redirects move to the healthy origin), and malformed index documents after a
 * good load (the refresh is rejected, the last good index keeps being served, the problem is
 * in `/readyz` and the logs). DESIGN.md "The server", "Origins and the health checker".
 */
import assert from "node:assert/strict";
import { startRegistry } from "../helpers/binary.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { startNginx } from "../helpers/nginx.ts";
import { freePort } from "../helpers/ports.ts";
import { startS3rver } from "../helpers/s3rver.ts";
import { publish } from "./fixture.ts";
import { tagIndexDigest } from "../../lib/layout/catalog.ts";
import { blobRedirect, poll, publishWithConfig, readyz } from "./cdn_helpers.ts";
import { startFlakyOrigin, startForwarder } from "./fault_servers.ts";

type Started<T extends (...a: never[]) => unknown> = Awaited<ReturnType<T>>;
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/** `GET /v2/<repo>/manifests/<tag>`: status and Docker-Content-Digest. */
async function manifest(url: string, repo: string, tag: string) {
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
    headers: { Accept: OCI_MANIFEST },
    signal: AbortSignal.timeout(5000),
  });
  const body = await res.text();
  return { status: res.status, digest: res.headers.get("docker-content-digest"), body };
}

/** A one-layer image in a new OCI layout under `tmp`. */
function image(tmp: string, seed: string) {
  return makeOciLayout(`${tmp}/src-${seed}`, { tag: "v1", layers: 1, seed });
}

Deno.test({
  name: "e2e faults: S3 store unreachable at start — error logged, retried, 503, then ready",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-faults-s3-" });
    let s3: Started<typeof startS3rver> | undefined;
    let reg: Started<typeof startRegistry> | undefined;
    let fwd: ReturnType<typeof startForwarder> | undefined;
    try {
      s3 = await startS3rver("registry");
      const store = `s3://${s3.bucket}/reg`;
      const cfg = `${tmp}/publish.json`;
      await Deno.writeTextFile(
        cfg,
        JSON.stringify({ store, s3: s3.s3Config() }),
      );
      const img = await image(tmp, "faults-s3");
      await publishWithConfig(`${tmp}/src-faults-s3`, "v1", "faults/s3:v1", store, cfg);

      // The registry's endpoint: a port nothing listens on until the forwarder starts.
      const port = freePort();
      const endpoint = `http://127.0.0.1:${port}`;
      reg = await startRegistry({
        config: { store, s3: s3.s3Config(endpoint), refresh: { interval: "500ms" } },
      });
      const url = reg.url;

      await t.step("running, not ready, and the log says which store and why", async () => {
        const r = await readyz(url);
        assert.equal(r.status, 503, JSON.stringify(r.body));
        assert.equal((r.body.index as { ready: boolean }).ready, false);
        const logs = reg!.logs();
        assert.match(logs, /cannot load the index/);
        assert.ok(logs.includes(store), `the log names ${store}:\n${logs}`);
        assert.ok(logs.includes(`ECONNREFUSED 127.0.0.1:${port}`), `the log says why:\n${logs}`);
        const m = await manifest(url, "faults/s3", "v1");
        assert.equal(m.status, 503, `manifest while not ready: ${m.body}`);
        assert.equal(JSON.parse(m.body).errors[0].code, "UNAVAILABLE");
      });

      await t.step("it retries on the refresh interval without exiting", async () => {
        const { value } = await poll(async () => {
          const idx = (await readyz(url)).body.index as { refreshFailures: number };
          return idx.refreshFailures >= 2;
        }, 10_000);
        const r = await readyz(url);
        assert.ok(value, `no retries seen: ${JSON.stringify(r.body)}`);
        assert.equal(r.status, 503);
        const err = (r.body.index as { lastError: { message: string } | null }).lastError;
        assert.match(err?.message ?? "", /static-registry\.json.*ECONNREFUSED/, "/readyz says why");
        assert.equal((await fetch(`${url}/healthz`)).status, 200);
      });

      await t.step("the store appears: ready within a few seconds, image served", async () => {
        fwd = startForwarder(port, Number(new URL(s3!.endpoint).port));
        const { value, elapsedMs } = await poll(
          async () => (await readyz(url)).status === 200,
          10_000,
        );
        assert.ok(value, `never ready:\n${reg!.logs().slice(-2000)}`);
        console.log(`ready ${elapsedMs} ms after the store appeared`);
        const m = await manifest(url, "faults/s3", "v1");
        assert.equal(m.status, 200, m.body);
        assert.equal(m.digest, img.rootDigest);
      });
    } finally {
      fwd?.close();
      await reg?.stop();
      await s3?.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "e2e faults: HTTP store refusing at start — 503 until it answers on the same URL",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-faults-http-" });
    let web: Started<typeof startNginx> | undefined;
    let reg: Started<typeof startRegistry> | undefined;
    try {
      const dir = `${tmp}/store`;
      await Deno.mkdir(dir);
      const img = await image(tmp, "faults-http");
      await publish(`${tmp}/src-faults-http`, "v1", "faults/http:v1", dir);
      web = await startNginx({ mode: "static", root: dir });
      await web.stop(); // its port now refuses connections
      reg = await startRegistry({ config: { store: web.url, refresh: { interval: "500ms" } } });
      const r = await readyz(reg.url);
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.match(reg.logs(), /cannot load the index/);
      assert.ok(reg.logs().includes(web.url), `the log names ${web.url}`);
      await web.start();
      const { value } = await poll(async () => (await readyz(reg!.url)).status === 200, 10_000);
      assert.ok(value, `never ready:\n${reg.logs().slice(-2000)}`);
      const m = await manifest(reg.url, "faults/http", "v1");
      assert.equal(m.status, 200, m.body);
      assert.equal(m.digest, img.rootDigest);
    } finally {
      await reg?.stop();
      await web?.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "e2e faults: an origin answering 5xx, then hanging, is routed around in time",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-faults-origin-" });
    let good: Started<typeof startNginx> | undefined;
    let flaky: ReturnType<typeof startFlakyOrigin> | undefined;
    let reg: Started<typeof startRegistry> | undefined;
    try {
      const store = `${tmp}/store`;
      await Deno.mkdir(store);
      const img = await image(tmp, "faults-origin");
      await publish(`${tmp}/src-faults-origin`, "v1", "faults/origin:v1", store);
      const layer = img.manifests[0].layers[0].digest;
      flaky = startFlakyOrigin(store);
      good = await startNginx({ mode: "static", root: store });
      const h = { interval: 500, timeout: 300, rise: 1, fall: 2 };
      reg = await startRegistry({
        config: {
          store,
          origins: [{ name: "flaky", url: flaky.url }, { name: "good", url: good.url }],
          health: { interval: `${h.interval}ms`, timeout: `${h.timeout}ms`, rise: 1, fall: 2 },
        },
      });
      const url = reg.url;
      const to = async () => (await blobRedirect(url, "faults/origin", layer)).location ?? "";
      const onFlaky = async () => (await to()).startsWith(flaky!.url);
      const onGood = async () => (await to()).startsWith(good!.url);
      // A failing origin is down after `fall` failed probes, each started one interval
      // after the previous ended and lasting up to `timeout`.
      const bound = h.interval + h.fall * (h.interval + h.timeout);

      await t.step("healthy flaky origin (listed first) gets the redirects", async () => {
        const { value } = await poll(onFlaky, 5000);
        assert.ok(value, `Location ${await to()}`);
      });

      for (const mode of ["5xx", "hang"] as const) {
        await t.step(`flaky origin turns ${mode}: unhealthy, redirects go to good`, async () => {
          flaky!.mode = mode;
          const { value, elapsedMs } = await poll(onGood, bound + 3000, 50);
          assert.ok(value, `Location still ${await to()}\n${reg!.logs().slice(-2000)}`);
          console.log(`${mode}: redirects moved to "good" after ${elapsedMs} ms (bound ${bound})`);
          assert.ok(elapsedMs <= bound + 1000, `took ${elapsedMs} ms, bound ${bound} ms`);
          assert.ok(flaky!.requests[mode] >= h.fall, "the checker did probe the broken origin");
          const r = await readyz(url);
          assert.equal(r.status, 200, "one healthy origin: still ready");
          const states = (r.body.origins as { origins: { name: string; lastError: string }[] })
            .origins;
          const why = mode === "5xx" ? /HTTP 503/ : /timed out after 300 ms/;
          assert.match(states[0].lastError ?? "", why);
          assert.match(reg!.logs(), /origin flaky is unhealthy/);
          // Back to normal before the next fault.
          flaky!.mode = "ok";
          const back = await poll(onFlaky, bound + 3000, 50);
          assert.ok(back.value, `never back on flaky: ${await to()}`);
        });
      }

      await t.step("both broken: /readyz 503 and blob GETs fail cleanly", async () => {
        flaky!.mode = "hang";
        await good!.stop();
        const { value } = await poll(async () => (await readyz(url)).status === 503, bound + 3000);
        assert.ok(value, JSON.stringify((await readyz(url)).body));
        const res = await fetch(`${url}/v2/faults/origin/blobs/${layer}`, { redirect: "manual" });
        const body = await res.text();
        assert.equal(res.status, 503, body);
        assert.equal(res.headers.get("location"), null);
        assert.equal(JSON.parse(body).errors[0].code, "UNAVAILABLE");
      });
    } finally {
      await reg?.stop();
      await flaky?.close();
      await good?.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "e2e faults: a malformed index document is rejected, the last good index served",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-faults-index-" });
    let reg: Started<typeof startRegistry> | undefined;
    try {
      const store = `${tmp}/store`;
      await Deno.mkdir(store);
      const img = await image(tmp, "faults-index");
      await publish(`${tmp}/src-faults-index`, "v1", "faults/index:v1", store);
      const key = `${store}/repositories/faults/index/_index.json`;
      const good = await Deno.readTextFile(key);
      // As a writer of the tag index would: layout version 2's catalog records its digest,
      // which is what makes the server read it again (docs/LAYOUT.md §"catalog.json").
      const writeIndex = async (text: string) => {
        await Deno.writeTextFile(key, text);
        const catalog = JSON.parse(await Deno.readTextFile(`${store}/catalog.json`));
        catalog.repositories["faults/index"] = tagIndexDigest(new TextEncoder().encode(text));
        await Deno.writeTextFile(`${store}/catalog.json`, JSON.stringify(catalog));
      };
      reg = await startRegistry({ config: { store, refresh: { interval: "300ms" } } });
      const url = reg.url;
      assert.equal((await manifest(url, "faults/index", "v1")).digest, img.rootDigest);

      const broken = {
        "bad JSON": good.slice(0, good.length / 2),
        "a tag naming a malformed digest": JSON.stringify({
          ...JSON.parse(good),
          tags: { v1: "sha256:not-a-digest" },
        }),
      };
      for (const [what, text] of Object.entries(broken)) {
        await t.step(`${what}: refresh rejected, v1 still served, /readyz says why`, async () => {
          // Issue 9 (isolation): a rejected tag index is that repository's problem in
          // `index.problems` (logged once), no longer a failed refresh in `lastError`.
          await writeIndex(text);
          type Problem = { key: string; kind: string; serving: string; reason: string };
          const { value } = await poll(async () => {
            const idx = (await readyz(url)).body.index as { problems: Problem[] };
            return idx.problems.find((p) =>
              p.kind === "rejected" && p.reason.includes(what === "bad JSON" ? "not JSON" : "tags")
            );
          }, 5000);
          assert.ok(value, `no rejected tag index reported:\n${reg!.logs().slice(-2000)}`);
          assert.match(value.reason, /faults\/index/, "the problem names the repository/file");
          assert.equal(value.key, "repositories/faults/index/_index.json");
          assert.equal(value.serving, "last-good");
          const r = await readyz(url);
          assert.equal(r.status, 200, "the last good index is still loaded");
          const m = await manifest(url, "faults/index", "v1");
          assert.equal(m.status, 200, m.body);
          assert.equal(m.digest, img.rootDigest);
          const tags = await (await fetch(`${url}/v2/faults/index/tags/list`)).json();
          assert.deepEqual(tags.tags, ["v1"]);
          assert.match(reg!.logs(), /tag index rejected; serving the other repositories/);
          // Repaired: the next refresh clears the problem.
          await writeIndex(good);
          const fixed = await poll(async () => {
            const idx = (await readyz(url)).body.index as { problems: unknown[] };
            return idx.problems.length === 0;
          }, 5000);
          assert.ok(fixed.value, "the error stays after the document was repaired");
        });
      }
    } finally {
      await reg?.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
