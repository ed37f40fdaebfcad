/**
 * TokenBuckets and rateLimitMiddleware(): 429 TOOMANYREQUESTS with Retry-After once a
 * client's burst is spent, recovery as time passes, one bucket per client address,
 * health and metrics exempt, and the client behind a trusted proxy as the key.
 */
import assert from "node:assert/strict";
import { clientAddressMiddleware, TrustedProxies } from "../../lib/auth/client_address.ts";
import { rateLimitMiddleware, TokenBuckets } from "../../lib/auth/rate_limit.ts";
import { silentLogger } from "../../lib/log.ts";
import { Registry } from "../../lib/index/registry.ts";
import { type App, createApp } from "../../lib/server/app.ts";
import { makeFixture } from "../server/fixture.ts";

Deno.test("TokenBuckets.take(): burst, then waits of whole seconds ≥ 1, then recovery", () => {
  let now = 0;
  const b = new TokenBuckets({ perSecond: 2, burst: 3 }, { now: () => now });
  assert.deepEqual([b.take("a"), b.take("a"), b.take("a")], [0, 0, 0]);
  assert.equal(b.take("a"), 1);
  assert.equal(b.take("b"), 0, "another client has its own bucket");
  now += 500; // one token back
  assert.equal(b.take("a"), 0);
  assert.equal(b.take("a"), 1);
  now += 10_000; // full again, never more than the burst
  assert.deepEqual([b.take("a"), b.take("a"), b.take("a"), b.take("a")], [0, 0, 0, 1]);
  const slow = new TokenBuckets({ perSecond: 0.1, burst: 1 }, { now: () => now });
  assert.equal(slow.take("a"), 0);
  assert.equal(slow.take("a"), 10);
});

Deno.test("TokenBuckets: memory is bounded by maxClients", () => {
  const b = new TokenBuckets({ perSecond: 1, burst: 1 }, { maxClients: 2, now: () => 0 });
  b.take("a");
  b.take("b");
  b.take("c"); // evicts a: it starts over with a full bucket
  assert.equal(b.take("a"), 0);
  assert.equal(b.take("c"), 1);
});

async function limitedApp(
  now: () => number,
  trusted?: string[],
): Promise<{ app: App; cleanup: () => Promise<void> }> {
  const fx = await makeFixture();
  const registry = new Registry(fx.store, { log: silentLogger });
  await registry.load();
  const buckets = new TokenBuckets({ perSecond: 1, burst: 2 }, { now });
  const app = createApp({
    registry,
    store: fx.store,
    middleware: [
      ...(trusted ? [clientAddressMiddleware(new TrustedProxies(trusted))] : []),
      rateLimitMiddleware(buckets),
    ],
    log: silentLogger,
  });
  return { app, cleanup: () => fx.cleanup() };
}

async function get(app: App, path: string, peer: string, headers: Record<string, string> = {}) {
  const res = await app.fetch(new Request(`http://localhost${path}`, { headers }), () => peer);
  const text = await res.text();
  return { status: res.status, retryAfter: res.headers.get("retry-after"), text };
}

Deno.test("rateLimitMiddleware(): 429 + Retry-After, then recovery; health exempt", async () => {
  let now = 0;
  const { app, cleanup } = await limitedApp(() => now);
  try {
    const path = "/v2/library/alpine/tags/list";
    assert.equal((await get(app, path, "10.0.0.1")).status, 200);
    assert.equal((await get(app, path, "10.0.0.1")).status, 200);
    const over = await get(app, path, "10.0.0.1");
    assert.equal(over.status, 429);
    assert.equal(over.retryAfter, "1");
    assert.equal(JSON.parse(over.text).errors[0].code, "TOOMANYREQUESTS");
    assert.equal((await get(app, path, "10.0.0.2")).status, 200, "per client");
    for (const p of ["/healthz", "/readyz", "/metrics"]) {
      assert.equal((await get(app, p, "10.0.0.1")).status, 200, p);
    }
    now += 1000;
    assert.equal((await get(app, path, "10.0.0.1")).status, 200, "recovered");
  } finally {
    await cleanup();
  }
});

Deno.test("rate limit keys by the client behind a trusted proxy, never by forged XFF", async () => {
  const { app, cleanup } = await limitedApp(() => 0, ["10.0.0.0/8"]);
  try {
    const path = "/v2/library/alpine/tags/list";
    // Through the trusted proxy 10.0.0.9: two clients, one bucket each.
    for (let i = 0; i < 2; i++) {
      assert.equal(
        (await get(app, path, "10.0.0.9", { "X-Forwarded-For": "198.51.100.1" })).status,
        200,
      );
    }
    assert.equal(
      (await get(app, path, "10.0.0.9", { "X-Forwarded-For": "198.51.100.1" })).status,
      429,
    );
    assert.equal(
      (await get(app, path, "10.0.0.9", { "X-Forwarded-For": "198.51.100.2" })).status,
      200,
    );
    // An untrusted peer cannot pick its bucket with X-Forwarded-For.
    for (const xff of ["1.1.1.1", "2.2.2.2"]) {
      assert.equal((await get(app, path, "203.0.113.5", { "X-Forwarded-For": xff })).status, 200);
    }
    assert.equal(
      (await get(app, path, "203.0.113.5", { "X-Forwarded-For": "3.3.3.3" })).status,
      429,
    );
  } finally {
    await cleanup();
  }
});
