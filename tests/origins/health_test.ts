/**
 * @module
 * The health checker's state machine, driven round by round with a fake fetch and clock.
 */
import assert from "node:assert/strict";
import { createHealthChecker } from "../../lib/origins/health.ts";
import { silentLogger } from "../../lib/log.ts";
import { FakeClock, FakeFetch } from "./fake.ts";

const A = "http://a.test";
const B = "http://b.test";
const probes = [
  { name: "a", canaryUrl: () => `${A}/static-registry.json` },
  { name: "b", canaryUrl: () => `${B}/static-registry.json` },
];
const opts = { intervalMs: 1000, timeoutMs: 50, rise: 2, fall: 3 };

function setup() {
  const f = new FakeFetch().set(A, { status: 200 }).set(B, { status: 200 });
  const clock = new FakeClock();
  const hc = createHealthChecker(probes, opts, {
    log: silentLogger,
    fetch: f.fetch,
    now: clock.now,
  });
  return { f, clock, hc };
}

Deno.test("createHealthChecker() starts unknown; the first probe decides alone", async () => {
  const { f, hc } = setup();
  f.set(B, { status: 503 });
  assert.deepEqual(hc.states().map((s) => s.state), ["unknown", "unknown"]);
  assert.equal(hc.isHealthy(0), false);
  await hc.checkAll();
  assert.deepEqual(hc.states().map((s) => s.state), ["healthy", "unhealthy"]);
  assert.equal(f.calls[0].method, "GET");
  assert.equal(f.calls[0].url, `${A}/static-registry.json`);
});

Deno.test("createHealthChecker() goes unhealthy only after `fall` consecutive failures", async () => {
  const { f, clock, hc } = setup();
  await hc.checkAll();
  f.set(A, { status: 500 });
  await hc.checkAll();
  await hc.checkAll();
  assert.equal(hc.isHealthy(0), true, "2 failures < fall=3");
  assert.equal(hc.states()[0].consecutiveFailures, 2);
  assert.equal(hc.states()[0].lastError, "GET canary: HTTP 500");
  // A success in between resets the count.
  f.set(A, { status: 200 });
  await hc.checkAll();
  f.set(A, { status: 502 });
  await hc.checkAll();
  await hc.checkAll();
  assert.equal(hc.isHealthy(0), true);
  clock.advance(5000);
  await hc.checkAll();
  const s = hc.states()[0];
  assert.equal(s.state, "unhealthy");
  assert.equal(s.consecutiveFailures, 3);
  assert.equal(s.lastCheck, new Date(clock.t).toISOString());
});

Deno.test("createHealthChecker() recovers after `rise` consecutive successes", async () => {
  const { f, hc } = setup();
  f.set(A, "refuse");
  await hc.checkAll();
  assert.equal(hc.isHealthy(0), false);
  assert.match(hc.states()[0].lastError!, /refused/);
  f.set(A, { status: 200 });
  await hc.checkAll();
  assert.equal(hc.isHealthy(0), false, "1 success < rise=2");
  assert.equal(hc.states()[0].lastError, null);
  f.set(A, { status: 404 });
  await hc.checkAll();
  // Any 2xx that carries the marker (203: a proxy's copy); a 204 has no marker to read.
  f.set(A, { status: 203 });
  await hc.checkAll();
  assert.equal(hc.isHealthy(0), false, "the 404 reset the successes");
  await hc.checkAll();
  assert.equal(hc.isHealthy(0), true);
});

Deno.test("createHealthChecker() counts a timeout as a failure", async () => {
  const { f, hc } = setup();
  f.set(A, "hang");
  const t0 = performance.now();
  await hc.checkAll();
  assert.ok(performance.now() - t0 < 2000, "the probe was aborted by its timeout");
  assert.equal(hc.isHealthy(0), false);
  assert.equal(hc.states()[0].lastError, "GET canary: timed out after 50 ms");
  assert.equal(hc.isHealthy(1), true);
});

Deno.test("createHealthChecker() start() probes at once and then every interval; stop() ends it", async () => {
  const f = new FakeFetch().set(A, { status: 200 }).set(B, { status: 200 });
  const hc = createHealthChecker(probes, { ...opts, intervalMs: 20 }, {
    log: silentLogger,
    fetch: f.fetch,
  });
  await hc.start();
  assert.equal(f.count(A), 1, "first round ran before start() resolved");
  assert.equal(hc.isHealthy(0), true);
  await new Promise((r) => setTimeout(r, 130));
  hc.stop();
  const n = f.count(A);
  assert.ok(n >= 3, `expected several rounds, got ${n}`);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(f.count(A), n, "no probes after stop()");
});
