/**
 * @module
 * The small pieces of lib/index: the manifest cache (lru-cache, bounded by bytes), pageAfter
 * paging, and the p-map semantics the tag-index reads rely on.
 */
import assert from "node:assert/strict";
import pMap from "p-map";
import { manifestCache } from "../../lib/index/registry.ts";
import { pageAfter } from "../../lib/index/repo.ts";

Deno.test("manifestCache() evicts the least recently used entries past its byte bound", () => {
  const c = manifestCache(10);
  c.set("a", new Uint8Array(4));
  c.set("b", new Uint8Array(4));
  assert.ok(c.get("a")); // a is now the most recent
  c.set("c", new Uint8Array(4)); // 12 > 10: evicts b
  assert.equal(c.get("b"), undefined);
  assert.ok(c.get("a") && c.get("c"));
  assert.equal(c.calculatedSize, 8);
  c.set("huge", new Uint8Array(11));
  assert.equal(c.get("huge"), undefined, "larger than the cache: not kept");
  assert.equal(c.size, 2);
  c.set("a", new Uint8Array(1));
  assert.equal(c.calculatedSize, 5, "replacing a value adjusts the byte count");
});

Deno.test("pageAfter() pages a sorted list after `last`", () => {
  const s = ["a", "b", "c", "d", "e"];
  assert.deepEqual(pageAfter(s, undefined, 2), { items: ["a", "b"], more: true });
  assert.deepEqual(pageAfter(s, "b", 2), { items: ["c", "d"], more: true });
  assert.deepEqual(pageAfter(s, "d", 2), { items: ["e"], more: false });
  assert.deepEqual(
    pageAfter(s, "bb", 10),
    { items: ["c", "d", "e"], more: false },
    "last need not be in the list",
  );
  assert.deepEqual(pageAfter(s, "z", 10), { items: [], more: false });
  assert.deepEqual(pageAfter(s, undefined, 0), { items: [], more: true });
});

Deno.test("pMap() keeps order, bounds concurrency and rejects on the first failure", async () => {
  let active = 0;
  let peak = 0;
  const out = await pMap([1, 2, 3, 4, 5, 6, 7], async (n) => {
    peak = Math.max(peak, ++active);
    await new Promise((r) => setTimeout(r, 8 - n));
    active--;
    return n * 10;
  }, { concurrency: 3 });
  assert.deepEqual(out, [10, 20, 30, 40, 50, 60, 70]);
  assert.equal(peak, 3);
  await assert.rejects(
    pMap(
      [1, 2, 3],
      (n) => n === 2 ? Promise.reject(new Error("two")) : Promise.resolve(n),
      { concurrency: 2 },
    ),
    /two/,
  );
});
