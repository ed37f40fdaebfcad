/**
 * @module
 * Issue 9, defect 14: a `docker://` source on a registry that misbehaves in transit. A body
 * that stalls after its headers (once hung forever), a dropped connection, 429 with
 * Retry-After and 5xx are retried with backoff; a stalled body resumes where it stopped
 * (Range), or skips what it already has when Range is ignored; after the last attempt the
 * error names the URL and what happened, and the store is as it was.
 */
import assert from "node:assert/strict";
import { buildImage } from "../helpers/image.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { openSource } from "../../lib/sources/open.ts";
import type { OpenSourceOptions } from "../../lib/sources/open.ts";
import { publish } from "../../lib/publish/publish.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { backoffMs, DEFAULT_RETRY, retryAfterMs } from "../../lib/sources/registry_retry.ts";
import { snapshot, tmpLeftovers, withTemp } from "../publish/helpers.ts";
import { type FakeRegistryOptions, startFakeRegistry } from "./fake_registry.ts";

/** Fast timeouts and backoff, so a test of five attempts takes well under a second. */
const FAST: OpenSourceOptions = {
  idleTimeoutMs: 300,
  retry: { attempts: 3, baseMs: 20, maxMs: 50 },
};

async function withImage(
  opts: (layer: string) => Partial<FakeRegistryOptions>,
  fn: (publishIt: () => Promise<unknown>, ctx: {
    fake: ReturnType<typeof startFakeRegistry>;
    layer: string;
    tmp: string;
    store: DirStore;
  }) => Promise<void>,
  sourceOpts: OpenSourceOptions = FAST,
) {
  const { blobs, root, image } = await buildImage({
    seed: "faults",
    layers: 2,
    layerSize: 64 * 1024,
  });
  const layer = image.manifests[0].layers[1].digest;
  const fake = startFakeRegistry({ blobs, tags: { v1: root }, ...opts(layer) });
  try {
    await withTemp(async (tmp) => {
      const store = new DirStore(`${tmp}/store`);
      const publishIt = async () => {
        const source = await openSource(`docker://${fake.addr}/src/x:v1`, sourceOpts);
        try {
          return await publish({ source, store, name: "demo/x", tag: "v1" });
        } finally {
          await source.close();
        }
      };
      await fn(publishIt, { fake, layer, tmp, store });
    });
  } finally {
    await fake.close();
  }
}

const blobGets = (fake: ReturnType<typeof startFakeRegistry>, digest: string) =>
  fake.requests.filter((r) => r.path.endsWith(`/blobs/${digest}`));

Deno.test("docker://: a blob body that stalls after its headers resumes with Range", () =>
  withImage(
    (layer) => ({
      fault: (r) => r.ref === layer && r.attempt === 1 ? { stallAfter: 10_000 } : undefined,
    }),
    async (publishIt, { fake, layer, store }) => {
      const t0 = performance.now();
      await publishIt();
      assert.ok(performance.now() - t0 < 10_000, "not hung");
      const gets = blobGets(fake, layer);
      assert.equal(gets.length, 2);
      assert.equal(gets[1].range, "bytes=10000-");
      assert.deepEqual(await verifyStore(store, { deep: true }), []);
    },
  ));

Deno.test("docker://: a dropped connection is retried; a 200 to a Range GET skips what was read", () =>
  withImage(
    (layer) => ({
      ignoreRange: true,
      fault: (r) =>
        r.ref === layer && r.attempt <= 2 ? { dropAfter: 5_000 * r.attempt } : undefined,
    }),
    async (publishIt, { fake, layer, store }) => {
      await publishIt();
      assert.equal(blobGets(fake, layer).length, 3);
      assert.deepEqual(await verifyStore(store, { deep: true }), []);
    },
  ));

Deno.test("docker://: 429 with Retry-After is honoured, 503 is retried, manifests too", () =>
  withImage(
    (layer) => ({
      fault: (r) => {
        if (r.kind === "manifests" && r.attempt === 1) return { status: 503 };
        if (r.ref === layer && r.attempt === 1) {
          return { status: 429, headers: { "retry-after": "1" } };
        }
        return undefined;
      },
    }),
    async (publishIt, { fake, layer, store }) => {
      const t0 = performance.now();
      await publishIt();
      assert.ok(performance.now() - t0 >= 950, "waited for Retry-After: 1");
      assert.equal(blobGets(fake, layer).length, 2);
      assert.deepEqual(await verifyStore(store, { deep: true }), []);
    },
  ));

Deno.test("docker://: a blob that always stalls fails after the last attempt, naming the URL", () =>
  withImage(
    // Each attempt resumes where the last stopped and stalls 1000 bytes later.
    (layer) => ({ fault: (r) => r.ref === layer ? { stallAfter: 1_000 } : undefined }),
    async (publishIt, { fake, layer, tmp, store }) => {
      const before = await snapshot(`${tmp}/store`);
      await assert.rejects(
        publishIt(),
        (e: Error) => {
          const m = e.message;
          assert.ok(m.includes(`GET http://${fake.addr}/v2/src/x/blobs/${layer}`), m);
          assert.match(m, /no data for 300 ms after 3000 of [0-9]+ bytes \(attempt 3 of 3\)/);
          return true;
        },
      );
      assert.equal(blobGets(fake, layer).length, 3);
      const after = await snapshot(`${tmp}/store`);
      for (const k of Object.keys(after)) {
        assert.ok(k in before || k.startsWith("blobs/") || k === "static-registry.json", k);
      }
      assert.deepEqual(await tmpLeftovers(`${tmp}/store`), []);
      assert.deepEqual(await verifyStore(store), []);
    },
  ));

Deno.test("docker://: 5xx on every attempt is an error naming the URL, the status and the count", () =>
  withImage(
    () => ({ fault: (r) => r.kind === "manifests" ? { status: 502 } : undefined }),
    async (publishIt, { fake }) => {
      await assert.rejects(
        publishIt(),
        new RegExp(
          `GET http://${
            fake.addr.replaceAll(".", "\\.")
          }/v2/src/x/manifests/v1: HTTP 502 \\(attempt 3 of 3\\)`,
        ),
      );
    },
  ));

Deno.test("registry retry policy: exponential backoff with jitter; Retry-After forms", () => {
  const p = DEFAULT_RETRY;
  assert.equal(backoffMs(p, 2, () => 0), 250);
  assert.equal(backoffMs(p, 2, () => 1), 500);
  assert.equal(backoffMs(p, 4, () => 1), 2000);
  assert.equal(backoffMs(p, 20, () => 1), p.maxMs);
  assert.equal(retryAfterMs("3"), 3000);
  assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4_000), 6000);
  assert.equal(retryAfterMs("soon"), undefined);
  assert.equal(retryAfterMs(null), undefined);
});

Deno.test("publish --timeout takes a duration and refuses anything else", async () => {
  const { parsePublishArgs } = await import("../../lib/cli/publish.ts");
  const args = (
    t: string,
  ) => ["docker://127.0.0.1:5000/x:v1", "x:v1", "--to", "/d", "--timeout", t];
  assert.equal((parsePublishArgs(args("90s")) as { timeoutMs: number }).timeoutMs, 90_000);
  for (const bad of ["0s", "ten", "25h", "5"]) {
    assert.throws(() => parsePublishArgs(args(bad)), /--timeout "[^"]*": must be a duration/);
  }
});
