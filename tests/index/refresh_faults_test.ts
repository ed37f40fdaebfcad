/**
 * @module
 * Registry under refresh faults (issue 9): a catalog or tag index that answers "missing"
 * for a while is not a deletion (defect 2), a listed repository whose tag index was
 * missing is picked up as soon as it is there although the catalog did not change
 * (defect 3), a tag index the reader rejects is isolated at load and at refresh, and
 * problems are logged once per change.
 */
import assert from "node:assert/strict";
import { Registry } from "../../lib/index/registry.ts";
import { CATALOG_KEY, repoIndexKey } from "../../lib/layout/layout.ts";
import { createLogger } from "../../lib/log.ts";
import { type Fixture, makeFixture, putDoc } from "../server/fixture.ts";
import { FaultStore } from "./fault_store.ts";

const ALL = ["library/alpine", "many", "other/repo"];

/** A fixture store behind a FaultStore, a registry over it, and its log lines. */
async function withFaults(
  fn: (
    x: { f: Fixture; store: FaultStore; r: Registry; lines: Record<string, unknown>[] },
  ) => Promise<void>,
): Promise<void> {
  const f = await makeFixture();
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: "debug",
    destination: { write: (s: string) => void lines.push(JSON.parse(s)) },
  });
  const store = new FaultStore(f.store);
  try {
    await fn({ f, store, r: new Registry(store, { log }), lines });
  } finally {
    await f.cleanup();
  }
}

const warnings = (lines: Record<string, unknown>[], key: string) =>
  lines.filter((l) => l.level === 40 && l.key === key);

Deno.test("Registry.refresh() keeps the last good catalog when catalog.json answers missing (defect 2)", () =>
  withFaults(async ({ f, store, r, lines }) => {
    await r.load();
    store.hidden.add(CATALOG_KEY);
    for (let i = 0; i < 3; i++) assert.equal(await r.refresh(), true);
    assert.deepEqual(r.repositories(), ALL, "not emptied");
    assert.equal(r.repo("library/alpine")!.tagDigest("latest"), f.alpine.digest);
    const [p, ...more] = r.status().problems;
    assert.deepEqual(more, []);
    assert.equal(p.key, CATALOG_KEY);
    assert.equal(p.kind, "missing");
    assert.equal(p.serving, "last-good");
    assert.equal(warnings(lines, CATALOG_KEY).length, 1, "logged once, not once per refresh");

    // Read again on every refresh; once back, the problem clears (and says so).
    const before = store.reads.get(CATALOG_KEY)!;
    store.hidden.delete(CATALOG_KEY);
    assert.equal(await r.refresh(), true);
    assert.equal(store.reads.get(CATALOG_KEY), before + 1);
    assert.deepEqual(r.status().problems, []);
    assert.ok(lines.some((l) => l.msg === "index problem cleared" && l.key === CATALOG_KEY));
    assert.deepEqual(r.repositories(), ALL);
  }));

Deno.test("Registry.load() of a store with no catalog yet is empty, not a problem", () =>
  withFaults(async ({ store, r }) => {
    store.hidden.add(CATALOG_KEY);
    await r.load();
    assert.deepEqual(r.repositories(), []);
    assert.deepEqual(r.status().problems, []);
    store.hidden.delete(CATALOG_KEY);
    await r.refresh();
    assert.deepEqual(r.repositories(), ALL);
  }));

Deno.test("Registry.refresh() picks up a listed repository whose tag index was missing, catalog unchanged (defect 3)", () =>
  withFaults(async ({ store, r }) => {
    store.hidden.add(repoIndexKey("many"));
    await r.load();
    assert.deepEqual(r.repositories(), ["library/alpine", "other/repo"]);
    await r.refresh();
    store.hidden.delete(repoIndexKey("many"));
    assert.equal(await r.refresh(), true);
    assert.deepEqual(r.repositories(), ALL, "visible without any catalog change");
    assert.equal(r.repo("many")!.sortedTags.length, 25);
  }));

Deno.test("Registry reports a listed repository without a tag index, once, until it is there", () =>
  withFaults(async ({ store, r, lines }) => {
    const key = repoIndexKey("many");
    store.hidden.add(key);
    await r.load();
    const [p, ...more] = r.status().problems;
    assert.deepEqual(more, []);
    assert.equal(p.key, key);
    assert.equal(p.repository, "many");
    assert.equal(p.kind, "missing");
    assert.equal(p.serving, "nothing");
    await r.refresh();
    await r.refresh();
    assert.equal(warnings(lines, key).length, 1, "logged once");
    store.hidden.delete(key);
    await r.refresh();
    assert.deepEqual(r.status().problems, []);
  }));

Deno.test("Registry.refresh() keeps a repository whose tag index answers missing for a while", () =>
  withFaults(async ({ f, store, r }) => {
    await r.load();
    const key = repoIndexKey("library/alpine");
    store.hidden.add(key);
    assert.equal(await r.refresh(), true);
    assert.equal(r.repo("library/alpine")!.tagDigest("latest"), f.alpine.digest);
    assert.equal(r.status().problems[0].serving, "last-good");
    assert.equal(r.status().tags, 29);
    store.hidden.delete(key);
    await r.refresh();
    assert.deepEqual(r.status().problems, []);
  }));

Deno.test("Registry.refresh(): only the catalog no longer listing a repository deletes it", () =>
  withFaults(async ({ f, store, r }) => {
    await r.load();
    store.hidden.add(repoIndexKey("many"));
    await r.refresh();
    await new Promise((res) => setTimeout(res, 5));
    await putDoc(f.store, CATALOG_KEY, {
      version: 1,
      repositories: ["library/alpine", "other/repo"],
    });
    await r.refresh();
    assert.deepEqual(r.repositories(), ["library/alpine", "other/repo"]);
    assert.equal(r.repo("many"), undefined);
    assert.deepEqual(r.status().problems, [], "a deleted repository has no problem left");
  }));

Deno.test("Registry isolates a rejected tag index at refresh: last good kept, logged once, cleared", () =>
  withFaults(async ({ f, store, r, lines }) => {
    await r.load();
    const key = repoIndexKey("other/repo");
    const good = JSON.parse(await Deno.readTextFile(f.store.pathOf(key)));
    await new Promise((res) => setTimeout(res, 5));
    await putDoc(f.store, key, {
      version: 1,
      name: "other/repo",
      tags: [],
      manifests: {},
      blobs: {},
    });
    const reads = store.reads.get(key)!;
    for (let i = 0; i < 3; i++) assert.equal(await r.refresh(), true);
    assert.equal(store.reads.get(key), reads + 3, "retried every refresh");
    assert.equal(r.repo("other/repo")!.tagDigest("v1"), f.other.digest, "last good version");
    assert.deepEqual(r.repositories(), ALL);
    const [p] = r.status().problems;
    assert.equal(p.kind, "rejected");
    assert.equal(p.serving, "last-good");
    assert.match(p.reason, /other\/repo\/_index\.json.*tags/);
    assert.equal(warnings(lines, key).length, 1, "logged once per change");
    assert.equal(r.status().lastError, null);

    // Another bad version is a new problem (logged again); a good one clears it.
    await new Promise((res) => setTimeout(res, 5));
    await putDoc(f.store, key, "nope");
    await r.refresh();
    assert.equal(warnings(lines, key).length, 2);
    assert.match(r.status().problems[0].reason, /not an object|must be/);

    await new Promise((res) => setTimeout(res, 5));
    await putDoc(f.store, key, good);
    await r.refresh();
    assert.deepEqual(r.status().problems, []);
    assert.ok(lines.some((l) => l.msg === "index problem cleared" && l.key === key));
  }));
