/**
 * @module
 * check(): every tag-referenced object HEADed on every origin, against two real nginx
 * static servers serving copies of a directory store, one missing a layer and one with a
 * truncated config. Objects come from the real Registry loading the store.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { check, formatReport, referencedObjects } from "../../lib/origins/check.ts";
import { createOrigins } from "../../lib/origins/origins.ts";
import { fromConfig } from "./fake.ts";
import { blobKey } from "../../lib/layout/layout.ts";
import { Registry } from "../../lib/index/registry.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { silentLogger } from "../../lib/log.ts";
import { startNginx } from "../helpers/nginx.ts";
import { writeFixtureStore } from "./store_fixture.ts";

async function indexesOf(root: string) {
  const registry = new Registry(new DirStore(root), { log: silentLogger });
  await registry.load();
  return registry.repositories().map((n) => registry.repo(n)!.index);
}

Deno.test("referencedObjects() follows tags through index children to configs and layers", async () => {
  const root = await Deno.makeTempDir({ prefix: "sr-check-" });
  try {
    const fx = await writeFixtureStore(root);
    const objects = referencedObjects(await indexesOf(root));
    assert.equal(objects.length, fx.objects.size, "each digest once");
    for (const o of objects) assert.equal(o.size, fx.objects.get(o.digest), o.digest);
    assert.equal(objects.find((o) => o.digest === fx.config)?.ref, "solo:1.0");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("check() reports a deleted blob and a truncated blob per origin, against real nginx", async () => {
  const base = await Deno.makeTempDir({ prefix: "sr-check-" });
  const fx = await writeFixtureStore(`${base}/a`);
  await fs.cp(`${base}/a`, `${base}/b`, { recursive: true });
  await fs.cp(`${base}/a`, `${base}/c`, { recursive: true });
  // Origin a: a layer was never uploaded. Origin b: a config was cut short.
  await Deno.remove(`${base}/a/${blobKey(fx.layer)}`);
  const truncated = `${base}/b/${blobKey(fx.config)}`;
  await Deno.truncate(truncated, (await Deno.stat(truncated)).size - 3);
  const a = await startNginx({ mode: "static", root: `${base}/a` });
  const b = await startNginx({ mode: "static", root: `${base}/b` });
  const c = await startNginx({ mode: "static", root: `${base}/c` });
  try {
    const origins = createOrigins({
      ...fromConfig({
        origins: [
          { name: "cdn-a", url: a.url },
          { name: "cdn-b", url: `${b.url}/` },
          { name: "cdn-c", url: c.url },
        ],
        health: { rise: 1, fall: 1 },
      }),
      log: silentLogger,
    });
    const objects = referencedObjects(await indexesOf(`${base}/c`));
    const report = await check({ objects, targets: origins.list, concurrency: 4 });
    assert.equal(report.ok, false);
    assert.equal(report.objects, fx.objects.size);
    assert.deepEqual(report.problems.map((p) => [p.origin, p.kind, p.digest]), [
      ["cdn-a", "missing", fx.layer],
      ["cdn-b", "size", fx.config],
    ]);
    const size = fx.objects.get(fx.config)!;
    assert.equal(report.problems[1].reason, `Content-Length ${size - 3}, expected ${size}`);
    assert.deepEqual(
      report.origins.map((o) => [o.name, o.checked, o.missing, o.size, o.error]),
      [
        ["cdn-a", fx.objects.size, 1, 0, 0],
        ["cdn-b", fx.objects.size, 0, 1, 0],
        ["cdn-c", fx.objects.size, 0, 0, 0],
      ],
    );
    const text = formatReport(report);
    assert.match(text, /cdn-a\s+missing\s+sha256:[0-9a-f]{64}\s+team\/app:(latest|v1)\s+HTTP 404/);
    assert.match(text, /FAILED: 2 problem\(s\)/);

    // A clean origin alone passes.
    const clean = await check({ objects, targets: [origins.list[2]], concurrency: 2 });
    assert.equal(clean.ok, true);
    assert.match(formatReport(clean), /\nOK\n$/);

    // A stopped origin is one finding (its marker probe gets no answer), not a crash and
    // not one row per object; its objects are not tried.
    await c.stop();
    const down = await check({
      objects,
      targets: [origins.list[2]],
      concurrency: 2,
      timeout: 2000,
    });
    assert.equal(down.ok, false);
    assert.equal(down.origins[0].checked, 0);
    assert.equal(down.origins[0].unreachable, true);
    assert.equal(down.problems.length, 1);
    assert.equal(down.problems[0].kind, "unreachable");
    assert.match(
      down.problems[0].reason,
      new RegExp(`${fx.objects.size} object\\(s\\) not checked`),
    );
  } finally {
    await a.close();
    await b.close();
    await c.close();
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("check() and verified locate() through an nginx CDN edge in front of a static origin", async () => {
  const root = await Deno.makeTempDir({ prefix: "sr-check-" });
  const fx = await writeFixtureStore(root);
  const origin = await startNginx({ mode: "static", root });
  const edge = await startNginx({ mode: "cdn", upstream: origin.url });
  try {
    const origins = createOrigins({
      ...fromConfig({
        origins: [{ name: "edge", url: edge.url, verifyBlobs: true }],
        health: { rise: 1, fall: 1 },
      }),
      log: silentLogger,
    });
    await origins.health.checkAll();
    const [digest, size] = [...fx.objects][0];
    const url = await origins.locate(digest, size);
    const res = await fetch(url);
    assert.equal((await res.bytes()).byteLength, size);
    assert.equal(res.headers.get("x-cache-status"), "HIT", "the verification HEAD warmed the edge");
    const objects = referencedObjects(await indexesOf(root));
    assert.equal((await check({ objects, targets: origins.list })).ok, true);
  } finally {
    await edge.close();
    await origin.close();
    await Deno.remove(root, { recursive: true });
  }
});
