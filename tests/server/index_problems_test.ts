/**
 * @module
 * Isolation through the HTTP surface (issue 9): a store holding hand-written tag indexes
 * the server's reader rejects — a non-string annotation value, annotations as an array, a
 * `subject` of an unsupported algorithm or with uppercase hex (defect 1, server side) —
 * serves every other repository and names each rejected one in `/readyz` and `/metrics`.
 */
import assert from "node:assert/strict";
import { CATALOG_KEY, repoIndexKey } from "../../lib/layout/layout.ts";
import type { RepoIndex } from "../../lib/layout/schema.ts";
import { appFor } from "./harness.ts";
import { makeFixture, putDoc } from "./fixture.ts";

/** Repository name → how its (otherwise valid) copy of other/repo's index is damaged. */
const DAMAGE: Record<string, (m: Record<string, unknown>) => void> = {
  "bad/annotation-value": (m) => m.annotations = { "org.example.n": 1 },
  "bad/annotations-array": (m) => m.annotations = ["a", "b"],
  "bad/subject-algorithm": (m) => m.subject = `md5:${"0".repeat(32)}`,
  "bad/subject-uppercase": (m) => m.subject = `sha256:${"AB".repeat(32)}`,
};

Deno.test("a store with tag indexes the reader rejects serves every other repository (defect 1)", async () => {
  const f = await makeFixture();
  try {
    const good = JSON.parse(
      await Deno.readTextFile(f.store.pathOf(repoIndexKey("other/repo"))),
    ) as RepoIndex;
    for (const [name, damage] of Object.entries(DAMAGE)) {
      const idx = structuredClone(good) as unknown as Record<string, unknown>;
      idx.name = name;
      damage((idx.manifests as Record<string, Record<string, unknown>>)[f.other.digest]);
      await putDoc(f.store, repoIndexKey(name), idx);
    }
    const names = [...Object.keys(DAMAGE), "library/alpine", "many", "other/repo"].sort();
    await putDoc(f.store, CATALOG_KEY, { version: 1, repositories: names });

    const { app } = await appFor(f.store);
    const alpine = await app.request("/v2/library/alpine/manifests/latest");
    assert.equal(alpine.status, 200);
    await alpine.body?.cancel();
    const catalog = await (await app.request("/v2/_catalog")).json();
    assert.deepEqual(catalog.repositories, ["library/alpine", "many", "other/repo"]);
    const bad = await app.request("/v2/bad/annotation-value/manifests/v1");
    assert.equal(bad.status, 404);
    await bad.body?.cancel();

    const ready = await app.request("/readyz");
    assert.equal(ready.status, 200, "one tenant's bad index does not make the replica unready");
    const { index } = await ready.json();
    assert.deepEqual(
      index.problems.map((p: { repository: string; key: string; kind: string }) => [
        p.repository,
        p.key,
        p.kind,
      ]),
      Object.keys(DAMAGE).map((n) => [n, repoIndexKey(n), "rejected"]),
    );
    for (const p of index.problems) {
      assert.match(p.reason, /annotations|subject/, p.reason);
      assert.equal(p.serving, "nothing");
    }

    const metrics = await (await app.request("/metrics")).text();
    assert.match(metrics, /^static_registry_index_rejected_repositories 4$/m);
    assert.match(metrics, /^static_registry_index_missing_documents 0$/m);
    assert.match(metrics, /^static_registry_index_repositories 3$/m);
  } finally {
    await f.cleanup();
  }
});
