/**
 * @module
 * The health checker's identity check (lib/origins/canary.ts): an origin is healthy only
 * when its marker names the served store's id; the reason says which store it serves; the
 * change is logged once; the GET is conditional and its body bounded.
 */
import assert from "node:assert/strict";
import { createHealthChecker } from "../../lib/origins/health.ts";
import { identityProblem, MAX_MARKER_BYTES, probeCanary } from "../../lib/origins/canary.ts";
import { createLogger, silentLogger } from "../../lib/log.ts";
import { userAgent } from "../../lib/version.ts";
import { FakeFetch } from "./fake.ts";

const A = "http://a.test";
const B = "http://b.test";
const ID1 = "7d0c1b2a-58f4-4f0e-9a55-0d1e2f3a4b5c";
const ID2 = "0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f";
const marker = (id?: string) =>
  JSON.stringify({ layout: "static-registry", version: 1, ...(id ? { id } : {}) }) + "\n";
const probes = [
  { name: "a", canaryUrl: () => `${A}/static-registry.json` },
  { name: "b", canaryUrl: () => `${B}/static-registry.json` },
];
const opts = { intervalMs: 1000, timeoutMs: 200, rise: 1, fall: 1 };

/** A logger whose JSON lines are kept. */
function memoryLog() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: "info",
    destination: { write: (s: string) => void lines.push(JSON.parse(s)) },
  });
  return { log, lines };
}

Deno.test("identityProblem() matches ids, and accepts anything when the store has none", () => {
  assert.equal(identityProblem(ID1, ID1), null);
  assert.equal(identityProblem(undefined, ID2), null);
  assert.equal(identityProblem(undefined, null), null);
  assert.equal(identityProblem(ID1, ID2), `serves store ${ID2}, not ${ID1}`);
  assert.match(identityProblem(ID1, null)!, /^serves a store without an id, not 7d0c/);
});

Deno.test("createHealthChecker() marks an origin serving another store unhealthy, naming both ids", async () => {
  const f = new FakeFetch()
    .set(A, { status: 200, body: marker(ID1) })
    .set(B, { status: 200, body: marker(ID2) });
  const hc = createHealthChecker(probes, opts, {
    log: silentLogger,
    fetch: f.fetch,
    storeId: () => ID1,
  });
  await hc.checkAll();
  const [a, b] = hc.states();
  assert.equal(a.state, "healthy");
  assert.equal(a.storeId, ID1);
  assert.equal(b.state, "unhealthy");
  assert.equal(b.lastError, `serves store ${ID2}, not ${ID1}`);
  assert.equal(b.storeId, ID2);
  // Every probe is a GET with our User-Agent.
  for (const c of f.calls) {
    assert.equal(c.method, "GET");
    assert.equal(c.headers.get("user-agent"), userAgent());
  }
  // Fixed on the origin: healthy again after `rise` (1) good probe.
  f.set(B, { status: 200, body: marker(ID1) });
  await hc.checkAll();
  assert.equal(hc.states()[1].state, "healthy");
});

Deno.test("createHealthChecker() refuses a marker without an id when the store has one", async () => {
  const f = new FakeFetch().set(A, { status: 200, body: marker() }).set(B, { status: 200 });
  const hc = createHealthChecker(probes, opts, {
    log: silentLogger,
    fetch: f.fetch,
    storeId: () => ID1,
  });
  await hc.checkAll();
  assert.equal(hc.states()[0].state, "unhealthy");
  assert.match(hc.states()[0].lastError!, /serves a store without an id, not 7d0c1b2a/);
  assert.equal(hc.states()[0].storeId, null);
});

Deno.test("createHealthChecker() accepts any valid marker while the store has no id, never a non-marker", async () => {
  const served: { id?: string } = {};
  const f = new FakeFetch()
    .set(A, { status: 200, body: marker(ID2) })
    .set(B, { status: 200, body: "<html>welcome to nginx</html>" });
  const hc = createHealthChecker(probes, opts, {
    log: silentLogger,
    fetch: f.fetch,
    storeId: () => served.id,
  });
  await hc.checkAll();
  assert.equal(hc.states()[0].state, "healthy", "a legacy store: nothing to compare");
  assert.equal(hc.states()[1].state, "unhealthy");
  assert.match(hc.states()[1].lastError!, /^GET canary: not a static-registry marker: .*not JSON/);
  // The store gets an id (a first publish after an upgrade): compared from the next probe.
  served.id = ID1;
  await hc.checkAll();
  assert.equal(hc.states()[0].state, "unhealthy");
  assert.equal(hc.states()[0].lastError, `serves store ${ID2}, not ${ID1}`);
});

Deno.test("createHealthChecker() logs a change of the served store once, not every probe", async () => {
  const { log, lines } = memoryLog();
  const f = new FakeFetch().set(A, { status: 200, body: marker(ID1) });
  const hc = createHealthChecker([probes[0]], { ...opts, fall: 3 }, {
    log,
    fetch: f.fetch,
    storeId: () => ID1,
  });
  await hc.checkAll();
  f.set(A, { status: 200, body: marker(ID2) });
  for (let i = 0; i < 5; i++) await hc.checkAll();
  const said = lines.filter((l) => String(l.msg).includes(`serves store ${ID2}`));
  // One line when it is first seen (still healthy: fall=3), one at the transition.
  assert.deepEqual(said.map((l) => l.msg), [
    `origin a serves store ${ID2}, not ${ID1}`,
    `origin a is unhealthy: serves store ${ID2}, not ${ID1}`,
  ]);
  f.set(A, { status: 200, body: marker(ID1) });
  await hc.checkAll();
  await hc.checkAll();
  assert.equal(lines.filter((l) => l.msg === "origin a is healthy").length, 2, "start, recovery");
});

Deno.test("probeCanary() asks with If-None-Match and trusts a 304 as the last marker", async () => {
  const f = new FakeFetch().set(A, { status: 200, body: marker(ID2), etag: '"m1"' });
  const url = `${A}/static-registry.json`;
  const first = await probeCanary(f.fetch, url, { timeoutMs: 200, expected: ID1 });
  assert.equal(first.error, `serves store ${ID2}, not ${ID1}`);
  assert.deepEqual(first.memo, { etag: '"m1"', storeId: ID2 });
  const again = await probeCanary(f.fetch, url, {
    timeoutMs: 200,
    expected: ID1,
    memo: first.memo,
  });
  assert.equal(f.calls[1].headers.get("if-none-match"), '"m1"');
  assert.equal(again.error, `serves store ${ID2}, not ${ID1}`, "the 304 is the same marker");
  assert.equal(again.storeId, ID2);
});

Deno.test("probeCanary() refuses a body larger than the bound without reading it all", async () => {
  let pulled = 0;
  const big = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled++;
      c.enqueue(new Uint8Array(16 * 1024).fill(32));
      if (pulled > 1000) c.close();
    },
  });
  const fetchFn = () => Promise.resolve(new Response(big, { status: 200 }));
  const r = await probeCanary(fetchFn, `${A}/static-registry.json`, {
    timeoutMs: 1000,
    expected: ID1,
  });
  assert.equal(r.error, `GET canary: the marker is more than ${MAX_MARKER_BYTES} bytes`);
  assert.ok(pulled < 10, `read ${pulled} chunks`);
  const declared = () =>
    Promise.resolve(new Response("{}", { status: 200, headers: { "content-length": "1000000" } }));
  const d = await probeCanary(declared, `${A}/x`, { timeoutMs: 1000, expected: ID1 });
  assert.match(d.error!, /the marker is 1000000 bytes/);
});
