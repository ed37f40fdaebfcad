/**
 * @module
 * Registry.storeId: the store identity read from the marker at load, kept across
 * unchanged refreshes, picked up (and logged) when a first publish writes one; a store
 * without one still loads and serves.
 */
import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { Registry } from "../../lib/index/registry.ts";
import { MARKER_KEY } from "../../lib/layout/layout.ts";
import { makeFixture, putDoc } from "../server/fixture.ts";

const ID1 = "7d0c1b2a-58f4-4f0e-9a55-0d1e2f3a4b5c";
const ID2 = "0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f";

function memoryLog() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: "info",
    destination: { write: (s: string) => void lines.push(JSON.parse(s)) },
  });
  return { log, lines };
}

/** Rewrites the marker with another size/mtime, so the dir store's etag changes. */
async function marker(f: { store: Parameters<typeof putDoc>[0] }, doc: Record<string, unknown>) {
  await new Promise((r) => setTimeout(r, 5));
  await putDoc(f.store, MARKER_KEY, { layout: "static-registry", version: 1, ...doc });
}

Deno.test("Registry: a store without an id loads and serves; a first id is picked up and logged", async () => {
  const f = await makeFixture(); // the fixture's marker has no id: a legacy store
  try {
    const { log, lines } = memoryLog();
    const r = new Registry(f.store, { log });
    await r.load();
    assert.equal(r.storeId, undefined);
    assert.equal(r.status().storeId, null);
    assert.ok(r.repositories().length > 0, "an id-less store is served as before");
    await marker(f, { id: ID1, created: "2030-01-01T00:00:00.000Z" });
    assert.equal(await r.refresh(), true);
    assert.equal(r.storeId, ID1);
    assert.equal(r.status().storeId, ID1);
    assert.ok(lines.some((l) => l.msg === `store identity is now ${ID1}` && l.level === 30));
    assert.equal(await r.refresh(), true);
    assert.equal(r.storeId, ID1, "kept across a not-modified marker");
  } finally {
    await f.cleanup();
  }
});

Deno.test("Registry: the id at load is logged; a changed id is adopted with a warning", async () => {
  const f = await makeFixture();
  try {
    await marker(f, { id: ID1 });
    const { log, lines } = memoryLog();
    const r = new Registry(f.store, { log });
    await r.load();
    assert.equal(lines.find((l) => l.msg === "index loaded")?.storeId, ID1);
    await marker(f, { id: ID2, note: "replaced" });
    await r.refresh();
    assert.equal(r.storeId, ID2);
    const warn = lines.find((l) => l.level === 40);
    assert.equal(warn?.msg, `store identity changed from ${ID1} to ${ID2}`);
    assert.deepEqual([warn?.from, warn?.to], [ID1, ID2]);
  } finally {
    await f.cleanup();
  }
});

Deno.test("Registry.load() refuses a marker whose id breaks the grammar", async () => {
  const f = await makeFixture();
  try {
    await marker(f, { id: "has space" });
    const r = new Registry(f.store, { log: createLogger({ level: "silent" }) });
    await assert.rejects(r.load(), /static-registry\.json.*id: "has space" is not a store id/);
  } finally {
    await f.cleanup();
  }
});
