/**
 * @module
 * gc() on a directory store: exactly the old unreferenced objects go, young ones and
 * everything referenced stay, a dry run removes nothing, temp files of dead writers go,
 * and an unreadable tag index aborts before anything is removed.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { hostname } from "node:os";
import process from "node:process";
import { randomUUID } from "node:crypto";
import { gc } from "../../lib/lifecycle/gc.ts";
import { MarkError } from "../../lib/lifecycle/mark.ts";
import { CATALOG_KEY, repoIndexKey } from "../../lib/layout/keys.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { snapshot, withTemp } from "../publish/helpers.ts";
import { age, blobKeys, makeGarbage } from "./gc_fixture.ts";
import { makeOciLayout } from "../helpers/image.ts";

const DAY = 24 * 3_600_000;
/** No publisher runs in these tests: no need to wait out a publish's commit window. */
const quick = { settleMs: 0 };

Deno.test("gc() removes exactly the unreferenced objects older than the grace period", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    const g = await makeGarbage(tmp, store);
    await age(store.root, 2 * DAY);
    const r = await gc({ store, graceMs: DAY, ...quick });
    assert.deepEqual(await blobKeys(store), [...g.keep].sort());
    assert.deepEqual(r.items.map((i) => i.key), [...g.garbage].sort());
    const bytes = [...g.garbage].reduce((n, k) => n + g.images.b.sizes[`sha256:${k.slice(13)}`], 0);
    assert.deepEqual(r.removed.blobs, { count: 3, bytes });
    assert.equal(r.removed.count, 3);
    assert.equal(r.repositories, 2);
    assert.equal(r.referenced, g.keep.size);
    assert.deepEqual(await verifyStore(store), []);
    // Nothing left to do: a second run removes nothing.
    const again = await gc({ store, graceMs: DAY, ...quick });
    assert.equal(again.removed.count, 0);
    assert.equal(await store.stat(".gc/clock"), null, "the clock probe is removed");
  }));

Deno.test("gc() keeps unreferenced objects younger than the grace period", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    const g = await makeGarbage(tmp, store);
    const [fresh, ...old] = [...g.garbage].sort();
    await age(store.root, 2 * DAY, new Set([...g.keep, ...old]));
    const r = await gc({ store, graceMs: DAY, ...quick });
    assert.deepEqual(await blobKeys(store), [...g.keep, fresh].sort());
    assert.equal(r.young.count, 1);
    assert.deepEqual(r.items.map((i) => i.key), old);
    // With everything young, nothing goes.
    const store2 = new DirStore(`${tmp}/store2`);
    const g2 = await makeGarbage(`${tmp}/2`, store2);
    const r2 = await gc({ store: store2, graceMs: DAY, ...quick });
    assert.equal(r2.removed.count, 0);
    assert.equal(r2.young.count, g2.garbage.size);
  }));

Deno.test("gc({ dryRun }) lists what would go and removes nothing", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    const g = await makeGarbage(tmp, store);
    await age(store.root, 2 * DAY);
    const before = await snapshot(store.root);
    const r = await gc({ store, graceMs: DAY, dryRun: true });
    assert.equal(r.dryRun, true);
    assert.deepEqual(r.items.map((i) => i.key), [...g.garbage].sort());
    assert.deepEqual(await snapshot(store.root), before);
  }));

Deno.test("gc() removes temp files of dead writers, and old ones of unknown writers", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    await makeGarbage(tmp, store);
    const child = new Deno.Command("true").spawn();
    await child.status;
    const dead = child.pid;
    const host = hostname().replace(/[^A-Za-z0-9.]/g, "_").slice(0, 64) || "host";
    const tmpDir = path.join(store.root, ".tmp");
    await fs.mkdir(tmpDir, { recursive: true });
    const files = {
      dead: `${dead}-${host}-${randomUUID()}.part`,
      live: `${process.pid}-${host}-${randomUUID()}.part`,
      otherOld: `123-elsewhere-${randomUUID()}.part`,
      otherYoung: `124-elsewhere-${randomUUID()}.part`,
    };
    for (const f of Object.values(files)) await fs.writeFile(path.join(tmpDir, f), "12345");
    const old = new Date(Date.now() - 2 * DAY);
    for (const f of [files.live, files.otherOld]) await fs.utimes(path.join(tmpDir, f), old, old);
    const lockTmp = `.${randomUUID()}.tmp`;
    await fs.mkdir(path.join(store.root, ".locks"), { recursive: true });
    await fs.writeFile(path.join(store.root, ".locks", lockTmp), `${hostname()} ${dead} x`);

    const r = await gc({ store, graceMs: DAY, ...quick });
    assert.deepEqual(
      r.items.filter((i) => i.kind === "temp").map((i) => i.key).sort(),
      [`.locks/${lockTmp}`, `.tmp/${files.dead}`, `.tmp/${files.otherOld}`].sort(),
    );
    assert.deepEqual(r.removed.temp, { count: 3, bytes: 5 + 5 + `${hostname()} ${dead} x`.length });
    assert.deepEqual((await fs.readdir(tmpDir)).sort(), [files.live, files.otherYoung].sort());
  }));

Deno.test("gc() aborts, removing nothing, when a tag index cannot be read", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    await makeGarbage(tmp, store);
    await age(store.root, 2 * DAY);
    const before = await blobKeys(store);
    const file = store.pathOf(repoIndexKey("other/x"));
    await fs.writeFile(file, "{not json");
    await assert.rejects(
      gc({ store, graceMs: DAY, ...quick }),
      (e: Error) =>
        e instanceof MarkError && e.message.includes('repository "other/x"') &&
        e.message.includes("repositories/other/x/_index.json") && /not JSON/.test(e.message),
    );
    // Valid JSON that breaks the layout's rules aborts too.
    await fs.writeFile(file, JSON.stringify({ version: 1, name: "other/x", tags: { v1: "x" } }));
    await assert.rejects(gc({ store, graceMs: DAY, ...quick }), /other\/x.*_index\.json/);
    // A tag index the catalog lists that is missing is not a deletion.
    await fs.rm(file);
    await assert.rejects(
      gc({ store, graceMs: DAY, ...quick }),
      /repository "other\/x" \(tag index "repositories\/other\/x\/_index.json"\) is missing though the catalog lists it/,
    );
    assert.deepEqual(await blobKeys(store), before);
  }));

Deno.test("gc() keeps what a tag index references even when the catalog does not list it", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    const g = await makeGarbage(tmp, store);
    await age(store.root, 2 * DAY);
    // A publish killed after its tag index, before the catalog: other/x is not listed.
    await fs.writeFile(
      store.pathOf(CATALOG_KEY),
      JSON.stringify({ version: 1, repositories: ["demo/app"] }),
    );
    await gc({ store, graceMs: DAY, ...quick });
    assert.deepEqual(await blobKeys(store), [...g.keep].sort());
  }));

Deno.test("gc() refuses a directory that is not a store (an OCI image layout)", () =>
  withTemp(async (tmp) => {
    await makeOciLayout(`${tmp}/layout`);
    const store = new DirStore(`${tmp}/layout`);
    await age(store.root, 2 * DAY);
    const before = await blobKeys(store);
    await assert.rejects(
      gc({ store, graceMs: DAY, ...quick }),
      /has no "static-registry.json": not a static-registry store/,
    );
    assert.deepEqual(await blobKeys(store), before);
  }));

Deno.test("gc() refuses a grace below the floor unless told it is unsafe", async () => {
  const store = new DirStore("/nonexistent-gc-store");
  await assert.rejects(gc({ store, graceMs: 60_000 }), /--grace: at least 10m.*--grace-unsafe/);
});
