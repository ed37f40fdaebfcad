/**
 * @module
 * Start-up at scale: 100,000 tags over 1,000 repositories (each tag its own manifest
 * with two blobs). The load time is printed, not asserted (machines differ); the target
 * is ≤ 2 s. Lookups afterwards are map hits and binary searches.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { silentLogger } from "../../lib/log.ts";
import { Registry } from "../../lib/index/registry.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { pageAfter } from "../../lib/index/repo.ts";

const REPOS = 1000;
const TAGS = 100;

function hex(n: number, salt: string): string {
  return (salt + n.toString(16)).padStart(64, "0");
}

Deno.test("Registry.load() of 100k tags over 1k repositories (time printed)", async () => {
  const root = await Deno.makeTempDir({ prefix: "sr-scale-" });
  try {
    await Deno.writeTextFile(
      path.join(root, "static-registry.json"),
      '{"layout":"static-registry","version":1}\n',
    );
    const names: string[] = [];
    for (let r = 0; r < REPOS; r++) {
      const name = `team${r % 10}/app-${String(r).padStart(4, "0")}`;
      names.push(name);
      const tags: Record<string, string> = {};
      const manifests: Record<string, unknown> = {};
      const blobs: Record<string, number> = {};
      for (let t = 0; t < TAGS; t++) {
        const m = `sha256:${hex(r * TAGS + t, "a")}`;
        const c = `sha256:${hex(r * TAGS + t, "c")}`;
        const l = `sha256:${hex(r * TAGS + t, "e")}`;
        tags[`v1.${t}.0`] = m;
        manifests[m] = {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          size: 400 + t,
          blobs: [c, l],
        };
        blobs[c] = 1000;
        blobs[l] = 30_000_000;
      }
      const dir = path.join(root, "repositories", name);
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(
        path.join(dir, "_index.json"),
        JSON.stringify({ version: 1, name, tags, manifests, blobs }),
      );
    }
    await Deno.writeTextFile(
      path.join(root, "catalog.json"),
      JSON.stringify({ version: 1, repositories: names }),
    );

    const registry = new Registry(new DirStore(root), { log: silentLogger });
    const t0 = performance.now();
    await registry.load();
    const ms = performance.now() - t0;
    console.log(
      `  loaded ${registry.status().tags} tags in ${REPOS} repositories in ${ms.toFixed(0)} ms`,
    );
    assert.equal(registry.status().tags, REPOS * TAGS);

    const t1 = performance.now();
    assert.equal(await registry.refresh(), true);
    console.log(
      `  unchanged refresh (all not-modified) in ${(performance.now() - t1).toFixed(0)} ms`,
    );

    const t2 = performance.now();
    let found = 0;
    for (let i = 0; i < 100_000; i++) {
      const repo = registry.repo(names[i % REPOS])!;
      if (repo.tagDigest(`v1.${i % TAGS}.0`)) found++;
      pageAfter(repo.sortedTags, "v1.5.0", 10);
    }
    console.log(`  100k tag lookups + pages in ${(performance.now() - t2).toFixed(0)} ms`);
    assert.equal(found, 100_000);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
