/**
 * @module
 * What a refresh changed is logged (issue 11 item 1): repositories and tags added,
 * removed and moved, one line each, summarised past MAX_CHANGE_LINES; the first load and
 * an unchanged refresh log no change.
 */
import assert from "node:assert/strict";
import { indexChanges, MAX_CHANGE_LINES } from "../../lib/index/changes.ts";
import { Registry } from "../../lib/index/registry.ts";
import { RepoView } from "../../lib/index/repo.ts";
import { CATALOG_KEY, repoIndexKey } from "../../lib/layout/layout.ts";
import { createLogger } from "../../lib/log.ts";
import { makeFixture, putDoc } from "../server/fixture.ts";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;

function served(repos: Record<string, Record<string, string>>) {
  const views = new Map(
    Object.entries(repos).map(([name, tags]) => [
      name,
      new RepoView({ version: 1, name, tags, manifests: {}, blobs: {} }),
    ]),
  );
  return { names: Object.keys(repos).sort(), repos: views };
}

Deno.test("indexChanges: repositories and tags added, removed, moved; same view skipped", () => {
  const prev = served({ a: { v1: D1, v2: D1 }, gone: { x: D1 } });
  const next = served({ a: { v1: D2, v3: D1 }, fresh: { latest: D2 } });
  assert.deepEqual(indexChanges(prev, next), [
    { change: "tag moved", repository: "a", tag: "v1", digest: D2 },
    { change: "tag added", repository: "a", tag: "v3", digest: D1 },
    { change: "tag removed", repository: "a", tag: "v2", digest: D1 },
    { change: "repository added", repository: "fresh" },
    { change: "tag added", repository: "fresh", tag: "latest", digest: D2 },
    { change: "repository removed", repository: "gone" },
  ]);
  assert.deepEqual(indexChanges(prev, prev), []);
});

Deno.test("Registry.refresh() logs each change once; over the bound, one summary line", async () => {
  const f = await makeFixture();
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: "info",
    destination: { write: (s: string) => void lines.push(JSON.parse(s)) },
  });
  try {
    const r = new Registry(f.store, { log });
    await r.load();
    const changes = () => lines.filter((l) => String(l.msg).startsWith("index: "));
    assert.deepEqual(changes(), [], "the first load is 'index loaded', not a list of changes");
    assert.equal(await r.refresh(), true);
    assert.deepEqual(changes(), [], "an unchanged refresh logs nothing");

    await new Promise((res) => setTimeout(res, 5)); // a new mtime: a new etag
    const idx = JSON.parse(await Deno.readTextFile(f.store.pathOf(repoIndexKey("other/repo"))));
    idx.tags.v2 = idx.tags.v1;
    await putDoc(f.store, repoIndexKey("other/repo"), idx);
    assert.equal(await r.refresh(), true);
    assert.deepEqual(changes().map((l) => [l.msg, l.repository, l.tag, l.digest]), [
      ["index: tag added", "other/repo", "v2", idx.tags.v1],
    ]);

    // Dropping "many" (25 tags) is one change: the repository, not each of its tags.
    lines.length = 0;
    await putDoc(f.store, CATALOG_KEY, {
      version: 1,
      repositories: ["library/alpine", "other/repo"],
    });
    assert.equal(await r.refresh(), true);
    assert.deepEqual(changes().map((l) => [l.msg, l.repository]), [
      ["index: repository removed", "many"],
    ]);

    lines.length = 0;
    await new Promise((res) => setTimeout(res, 5));
    for (let i = 0; i <= MAX_CHANGE_LINES; i++) idx.tags[`bulk-${i}`] = idx.tags.v1;
    await putDoc(f.store, repoIndexKey("other/repo"), idx);
    assert.equal(await r.refresh(), true);
    const got = changes();
    assert.equal(got.length, 1, "summarised");
    assert.equal(got[0].changes, MAX_CHANGE_LINES + 1);
    assert.equal(got[0].tagsAdded, MAX_CHANGE_LINES + 1);
  } finally {
    await f.cleanup();
  }
});
