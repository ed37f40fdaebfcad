/**
 * The refresh change log: a refresh that picks up a new tag, a moved tag, a removed tag, a
 * new repository or a repository gone says so once, in one line per repository; an
 * unchanged refresh and the first load say nothing of the kind.
 */
import assert from "node:assert/strict";
import { Registry } from "../../lib/index/registry.ts";
import { CATALOG_KEY, type RepoIndex, repoIndexKey } from "../../lib/layout/layout.ts";
import { indexChanges, logIndexChanges, MAX_LISTED } from "../../lib/index/changes.ts";
import { RepoView } from "../../lib/index/repo.ts";
import { makeFixture, putDoc } from "../server/fixture.ts";
import { memoryLogger } from "../server/harness.ts";

const CHANGE_MSG = /^(new repository|repository )/;

Deno.test("Registry refresh logs new, moved and removed tags and repositories once", async () => {
  const f = await makeFixture();
  try {
    const { log, lines } = memoryLogger();
    const r = new Registry(f.store, { log });
    await r.load();
    const changes = () => lines.filter((l) => CHANGE_MSG.test(String(l.msg)));
    assert.equal(changes().length, 0, "the first load is 'index loaded', not changes");
    await r.refresh();
    assert.equal(changes().length, 0, "an unchanged refresh says nothing");

    // other/repo: v1 moves to alpine's manifest (held by it now), v2 is new.
    const key = repoIndexKey("other/repo");
    const idx = await readJson(f, key) as RepoIndex;
    idx.manifests[f.alpine.digest] = {
      mediaType: f.alpine.mediaType,
      size: f.alpine.size,
      blobs: [],
    };
    idx.tags = { v1: f.alpine.digest, v2: f.other.digest };
    await new Promise((res) => setTimeout(res, 5));
    await putDoc(f.store, key, idx);
    // A new repository, and "many" leaves the catalog.
    const fresh: RepoIndex = { ...idx, name: "fresh", tags: { a: f.other.digest } };
    await putDoc(f.store, repoIndexKey("fresh"), fresh);
    await putDoc(f.store, CATALOG_KEY, {
      version: 1,
      repositories: ["fresh", "library/alpine", "other/repo"],
    });
    assert.equal(await r.refresh(), true);
    const got = changes();
    assert.deepEqual(got.map((l) => l.msg), [
      "new repository fresh (1 tag)",
      "repository other/repo: tags 1 new, 1 moved",
      "repository many is no longer served",
    ]);
    const other = got[1];
    assert.deepEqual(other.added, ["v2"]);
    assert.deepEqual(other.moved, [{ tag: "v1", from: f.other.digest, to: f.alpine.digest }]);
    assert.equal(other.repo, "other/repo");
    assert.equal(got[2].removedCount, f.manyTags.length);
    assert.equal((got[2].removed as string[]).length, MAX_LISTED, "a bounded line");

    await r.refresh();
    assert.equal(changes().length, 3, "said once");
  } finally {
    await f.cleanup();
  }
});

async function readJson(f: Awaited<ReturnType<typeof makeFixture>>, key: string): Promise<unknown> {
  const res = await f.store.read(key);
  if (res.status !== "ok") throw new Error(`${key}: ${res.status}`);
  return JSON.parse(new TextDecoder().decode(res.bytes));
}

Deno.test("indexChanges() compares only repositories whose view changed", () => {
  const index = (tags: Record<string, string>): RepoIndex => ({
    version: 1,
    name: "x",
    tags,
    manifests: {},
    blobs: {},
  });
  const same = new RepoView(index({ a: "sha256:1" }));
  assert.deepEqual(indexChanges(new Map([["x", same]]), new Map([["x", same]])), []);
  // A re-read with equal tags (another manifest's annotation changed, say): nothing to say.
  assert.deepEqual(
    indexChanges(new Map([["x", same]]), new Map([["x", new RepoView(index({ a: "sha256:1" }))]])),
    [],
  );
  assert.deepEqual(
    indexChanges(
      new Map([["x", same]]),
      new Map([["x", new RepoView(index({ b: "sha256:1" }))]]),
    ),
    [{ repo: "x", kind: "changed", added: ["b"], moved: [], removed: ["a"] }],
  );
});

Deno.test("logIndexChanges() says a new repository's tag count in the right number", () => {
  const { log, lines } = memoryLogger();
  const added = (repo: string, tags: string[]) => ({
    repo,
    kind: "added" as const,
    added: tags,
    moved: [],
    removed: [],
  });
  logIndexChanges(log, "s", [
    added("none", []),
    added("one", ["a"]),
    added("three", ["a", "b", "c"]),
  ]);
  assert.deepEqual(lines.map((l) => l.msg), [
    "new repository none (0 tags)",
    "new repository one (1 tag)",
    "new repository three (3 tags)",
  ]);
});
