/**
 * @module
 * createOrigins().locate(): origin preference, verification (positive cache, negative TTL,
 * fall-through, dedupe), BLOB_UNKNOWN and UNAVAILABLE; readiness() and stats().
 */
import assert from "node:assert/strict";
import type { UserConfig } from "../../lib/config/schema.ts";
import { createOrigins } from "../../lib/origins/origins.ts";
import { OciError } from "../../lib/oci/errors.ts";
import { silentLogger } from "../../lib/log.ts";
import { FakeClock, FakeFetch, fromConfig } from "./fake.ts";

const A = "http://a.test/reg";
const B = "http://b.test";
const D = "sha256:" + "ab".repeat(32);
const BLOB = `blobs/sha256/${"ab".repeat(32)}`;
interface Setup {
  /** Verify on both origins (`verifyBlobs: true`). */
  verify?: boolean;
  cacheSize?: number;
  origins?: NonNullable<UserConfig["origins"]>;
}

function setup(opts: Setup = {}) {
  const f = new FakeFetch()
    .set(`${A}/static-registry.json`, { status: 200 })
    .set(`${B}/static-registry.json`, { status: 200 });
  const clock = new FakeClock();
  const verifyBlobs = opts.verify ?? false;
  const o = createOrigins({
    ...fromConfig({
      origins: opts.origins ??
        [{ name: "a", url: A + "/", verifyBlobs }, { name: "b", url: B, verifyBlobs }],
      health: { interval: "1s", timeout: "50ms", rise: 1, fall: 1 },
      verifyBlobs: { cacheSize: opts.cacheSize ?? 10, negativeTtl: "1s" },
    }),
    log: silentLogger,
    fetch: f.fetch,
    now: clock.now,
  });
  return { f, clock, o };
}

/** locate() may throw at once or reject later: both must carry the spec code. */
async function rejectsWith(call: () => unknown, code: string, status: number) {
  await assert.rejects(async () => await call(), (e) => {
    assert.ok(e instanceof OciError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.status, status);
    return true;
  });
}

Deno.test("locate() redirects to the first healthy origin, in config order", async () => {
  const { f, o } = setup();
  await o.health.checkAll();
  assert.equal(await o.locate(D, 5), `${A}/${BLOB}`);
  f.set(`${A}/static-registry.json`, { status: 503 });
  await o.health.checkAll();
  assert.equal(await o.locate(D, 5), `${B}/${BLOB}`, "a is down: b");
  f.set(`${A}/static-registry.json`, { status: 200 });
  await o.health.checkAll();
  assert.equal(await o.locate(D, 5), `${A}/${BLOB}`, "a is back and preferred again");
  assert.equal(f.count(`${A}/blobs`) + f.count(`${B}/blobs`), 0, "no verification HEADs");
  assert.deepEqual(o.stats().origins.map((s) => [s.name, s.redirects]), [["a", 2], ["b", 1]]);
});

Deno.test("locate() with no healthy origin throws UNAVAILABLE (503)", async () => {
  const { f, o } = setup();
  await rejectsWith(() => o.locate(D, 5), "UNAVAILABLE", 503); // before any probe
  f.set(`${A}/static-registry.json`, "refuse").set(`${B}/static-registry.json`, "hang");
  await o.health.checkAll();
  await rejectsWith(() => o.locate(D, 5), "UNAVAILABLE", 503);
  const r = o.readiness();
  assert.equal(r.ready, false);
  assert.equal(r.origins[0].url, A);
  assert.match(r.origins[1].lastError!, /timed out/);
  assert.equal(o.stats().origins[0].healthy, false);
});

Deno.test("locate() rejects a malformed digest with DIGEST_INVALID", async () => {
  const { o } = setup();
  await o.health.checkAll();
  await rejectsWith(() => o.locate("sha256:nope", 5), "DIGEST_INVALID", 400);
});

Deno.test("locate() verifies once, then answers from the positive cache", async () => {
  const { f, o } = setup({ verify: true });
  f.set(`${A}/${BLOB}`, { status: 200, size: 5 });
  await o.health.checkAll();
  assert.equal(await o.locate(D, 5), `${A}/${BLOB}`);
  assert.equal(await o.locate(D, 5), `${A}/${BLOB}`);
  assert.equal(f.count(`${A}/${BLOB}`), 1);
  assert.equal(f.calls.find((c) => c.url === `${A}/${BLOB}`)?.method, "HEAD");
  assert.deepEqual(o.stats().verifyCache, { hits: 1, misses: 1 });
});

Deno.test("locate() falls through on 404 and wrong size; negative entries expire", async () => {
  const { f, clock, o } = setup({ verify: true });
  f.set(`${A}/${BLOB}`, { status: 404 }).set(`${B}/${BLOB}`, { status: 200, size: 5 });
  await o.health.checkAll();
  assert.equal(await o.locate(D, 5), `${B}/${BLOB}`);
  f.set(`${A}/${BLOB}`, { status: 200, size: 5 }); // the CDN caught up
  clock.advance(999);
  assert.equal(await o.locate(D, 5), `${B}/${BLOB}`, "negative entry still trusted");
  assert.equal(f.count(`${A}/${BLOB}`), 1);
  clock.advance(2);
  assert.equal(await o.locate(D, 5), `${A}/${BLOB}`, "negative entry expired: asked again");
  assert.equal(f.count(`${A}/${BLOB}`), 2);
  // Wrong Content-Length counts as absent.
  const other = "sha256:" + "cd".repeat(32);
  f.set(`${A}/blobs/sha256/${"cd".repeat(32)}`, { status: 200, size: 4 });
  f.set(`${B}/blobs/sha256/${"cd".repeat(32)}`, { status: 200, size: 5 });
  assert.equal(await o.locate(other, 5), `${B}/blobs/sha256/${"cd".repeat(32)}`);
});

Deno.test("locate() throws BLOB_UNKNOWN when no healthy origin has the blob", async () => {
  const { f, o } = setup({ verify: true });
  f.set(`${A}/${BLOB}`, { status: 404 }).set(`${B}/${BLOB}`, { status: 200, size: 6 });
  await o.health.checkAll();
  await rejectsWith(() => o.locate(D, 5), "BLOB_UNKNOWN", 404);
  await assert.rejects(async () => await o.locate(D, 5), (e: OciError) => {
    assert.deepEqual(e.detail, {
      digest: D,
      origins: { a: "HTTP 404", b: "wrong size: Content-Length 6, expected 5" },
    });
    return true;
  });
});

Deno.test("locate() answers 503, not BLOB_UNKNOWN, when an origin could not answer", async () => {
  const { f, o } = setup({ verify: true });
  f.set(`${A}/${BLOB}`, { status: 500 }).set(`${B}/${BLOB}`, { status: 404 });
  await o.health.checkAll();
  await rejectsWith(() => o.locate(D, 5), "UNAVAILABLE", 503);
  f.set(`${A}/${BLOB}`, { status: 200, size: 5 });
  assert.equal(await o.locate(D, 5), `${A}/${BLOB}`, "errors are not cached");
});

Deno.test("locate() verifies per origin when only that origin asks for it", async () => {
  const { f, o } = setup({
    origins: [{ name: "a", url: A, verifyBlobs: true }, { name: "b", url: B }],
  });
  f.set(`${A}/${BLOB}`, { status: 404 });
  await o.health.checkAll();
  assert.equal(await o.locate(D, 5), `${B}/${BLOB}`);
  assert.equal(f.count(`${B}/${BLOB}`), 0, "b is not verified");
});

Deno.test("locate() dedupes concurrent verifications of the same blob", async () => {
  const { f, o } = setup({ verify: true });
  f.set(`${A}/${BLOB}`, { status: 200, size: 5 });
  await o.health.checkAll();
  const urls = await Promise.all(Array.from({ length: 20 }, () => o.locate(D, 5)));
  assert.ok(urls.every((u) => u === `${A}/${BLOB}`));
  assert.equal(f.count(`${A}/${BLOB}`), 1);
});

Deno.test("VerifyCache evicts the least recently used verdict", async () => {
  const { f, o } = setup({ verify: true, cacheSize: 2 });
  f.set(`${A}/blobs`, { status: 200, size: 5 });
  await o.health.checkAll();
  const d = (c: string) => "sha256:" + c.repeat(64);
  await o.locate(d("1"), 5);
  await o.locate(d("2"), 5);
  await o.locate(d("1"), 5); // 1 is now the most recent
  await o.locate(d("3"), 5); // evicts 2
  await o.locate(d("1"), 5);
  assert.equal(f.count(`${A}/blobs`), 3);
  await o.locate(d("2"), 5);
  assert.equal(f.count(`${A}/blobs`), 4, "2 was evicted and verified again");
});
