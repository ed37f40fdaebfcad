/**
 * @module
 * When publish takes its store locks (lib/publish/lock_ahead.ts): not at all for an
 * unchanged re-publish, while the blobs still copy when the store's lock lead time says
 * acquiring is slow (an S3 lease), only after every blob and manifest on a directory
 * store, and never left behind by a publish that fails.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { makeOciLayout } from "../helpers/image.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { LocksAhead } from "../../lib/publish/lock_ahead.ts";
import { publishFrom, RecordingStore, withTemp } from "./helpers.ts";
import { encodeDocument } from "../../lib/layout/documents.ts";
import { AHEAD_FRESH_MS } from "../../lib/publish/gc_guard.ts";
import type { LockOptions } from "../../lib/store/store.ts";
import { setTimeout as sleep } from "node:timers/promises";

const REPO_LOCK = "repo:demo/hello";
const firstIndex = (events: string[], p: (e: string) => boolean) => events.findIndex(p);
const lastIndex = (events: string[], p: (e: string) => boolean) => events.findLastIndex(p);
const isBlobWrite = (e: string) => e.startsWith("write blobs/");

Deno.test("an unchanged re-publish takes no lock and writes nothing", () =>
  withTemp(async (tmp) => {
    await makeOciLayout(`${tmp}/src`, { layers: 3 });
    const store = new RecordingStore(`${tmp}/store`);
    await publishFrom(`oci:${tmp}/src`, store, "demo/hello", "v1");
    store.events = [];
    const r = await publishFrom(`oci:${tmp}/src`, store, "demo/hello", "v1");
    assert.equal(r.indexChanged, false);
    assert.deepEqual(store.events, []);
  }));

Deno.test("a new tag of a listed repository takes the repository lock, passes the gc barrier, then records the index's digest in the catalog", () =>
  withTemp(async (tmp) => {
    await makeOciLayout(`${tmp}/src`, { layers: 2 });
    const store = new RecordingStore(`${tmp}/store`);
    await publishFrom(`oci:${tmp}/src`, store, "demo/hello", "v1");
    store.events = [];
    await publishFrom(`oci:${tmp}/src`, store, "demo/hello", "v2");
    store.events = store.events.map((e) => e.replace(/\.[0-9a-f-]{36}$/, ".<uuid>"));
    // Every object was found present: the commit re-checks them after the gc barrier
    // (lib/publish/gc_guard.ts), under the repository lock. Layout version 2: the catalog
    // then records the new tag index's digest, after the repository lock is released.
    assert.deepEqual(store.events, [
      `lock ${REPO_LOCK}`,
      "lock gc",
      "unlock gc",
      "write repositories/demo/hello/_index.json",
      `unlock ${REPO_LOCK}`,
      // The request to record it (lib/publish/catalog_fold.ts), recorded by this
      // publisher as the lock's holder, which removes it.
      "write .catalog/pending/demo~hello.<uuid>",
      "lock catalog",
      "write catalog.json",
      "unlock catalog",
    ]);
    assert.deepEqual(await pendingRequests(store), [], "no request left behind");
  }));

Deno.test("on a layout-version-1 store a new tag of a listed repository takes the repository lock only", () =>
  withTemp(async (tmp) => {
    await makeOciLayout(`${tmp}/src`, { layers: 2 });
    const store = new RecordingStore(`${tmp}/store`);
    await store.write(
      "static-registry.json",
      encodeDocument({ layout: "static-registry", version: 1 }),
      {
        contentType: "application/json",
        cacheControl: "no-store",
      },
    );
    await publishFrom(`oci:${tmp}/src`, store, "demo/hello", "v1");
    store.events = [];
    await publishFrom(`oci:${tmp}/src`, store, "demo/hello", "v2");
    assert.deepEqual(store.events, [
      `lock ${REPO_LOCK}`,
      "lock gc",
      "unlock gc",
      "write repositories/demo/hello/_index.json",
      `unlock ${REPO_LOCK}`,
    ]);
  }));

Deno.test("with lead time 0 (directory store) each lock is taken when used, after every blob", () =>
  withTemp(async (tmp) => {
    await makeOciLayout(`${tmp}/src`, { layers: 3, layerSize: 256 * 1024 });
    const store = new RecordingStore(`${tmp}/store`);
    await publishFrom(`oci:${tmp}/src`, store, "demo/hello", "v1");
    const ev = store.events;
    // The first publish into a store writes its marker (with the store id) under the
    // marker lock, while the blobs copy and before any document (lib/publish/marker.ts);
    // the document locks come after every blob.
    const marker = ["lock marker", "write static-registry.json", "unlock marker"].map((e) =>
      ev.indexOf(e)
    );
    assert.ok(marker[0] >= 0 && marker[0] < marker[1] && marker[1] < marker[2], ev.join("\n"));
    assert.ok(
      marker[2] < firstIndex(ev, (e) =>
        e.startsWith("write ") && !e.startsWith("write blobs/") &&
        e !== "write static-registry.json"),
      ev.join("\n"),
    );
    assert.ok(
      firstIndex(ev, (e) => e.startsWith("lock") && e !== "lock marker") >
        lastIndex(ev, isBlobWrite),
      ev.join("\n"),
    );
    assert.deepEqual(ev.slice(-6), [
      `lock ${REPO_LOCK}`,
      "write repositories/demo/hello/_index.json",
      `unlock ${REPO_LOCK}`,
      "lock catalog",
      "write catalog.json",
      "unlock catalog",
    ]);
  }));

Deno.test("with a long lead time both locks are acquired while the blobs still copy", () =>
  withTemp(async (tmp) => {
    await makeOciLayout(`${tmp}/src`, { layers: 3, layerSize: 256 * 1024 });
    const store = new RecordingStore(`${tmp}/store`);
    store.lockLeadMs = 60_000;
    await publishFrom(`oci:${tmp}/src`, store, "demo/hello", "v1");
    const ev = store.events;
    const firstBlob = firstIndex(ev, isBlobWrite);
    assert.ok(ev.indexOf(`lock ${REPO_LOCK}`) < firstBlob, ev.join("\n"));
    assert.ok(ev.indexOf("lock catalog") < firstBlob, ev.join("\n"));
    // The tag still becomes visible only after everything it references.
    assert.ok(
      ev.indexOf("write repositories/demo/hello/_index.json") > lastIndex(ev, isBlobWrite),
    );
    assert.ok(
      ev.indexOf(`unlock ${REPO_LOCK}`) > ev.indexOf("write repositories/demo/hello/_index.json"),
    );
    assert.deepEqual(await verifyStore(new DirStore(`${tmp}/store`)), []);
  }));

Deno.test("with a long lead time a new tag whose blobs are all present takes its locks ahead too", () =>
  withTemp(async (tmp) => {
    const store = new RecordingStore(`${tmp}/store`);
    const ev = await retagAhead(tmp, store);
    // Every blob was present, so no byte advances the copy after the plan made the locks:
    // they are due at once (issue 13: this publisher's catalog lock was otherwise taken
    // only after its index write, a whole lease settle delay on the contention row).
    const indexWrite = ev.indexOf("write repositories/demo/hello/_index.json");
    assert.ok(indexWrite > 0, ev.join("\n"));
    assert.ok(ev.indexOf("lock catalog") < indexWrite, ev.join("\n"));
    assert.ok(
      ev.some((e) => e.startsWith("write .catalog/pending/demo~hello.") && e.endsWith(".intent")),
      `announced to the catalog lock's holder:\n${ev.join("\n")}`,
    );
    assert.deepEqual(await pendingRequests(store), [], "no request or intent left behind");
  }));

Deno.test("with a long lead time a re-tag passes the gc barrier ahead, with its locks, once", () =>
  withTemp(async (tmp) => {
    const store = new RecordingStore(`${tmp}/store`);
    const ev = await retagAhead(tmp, store);
    // Every object was present: the commit re-checks them after a gc barrier, which was
    // passed while the locks were taken (lib/publish/gc_guard.ts BarrierAhead), not after
    // the repository lock (on S3, one lease settle delay less for a re-tag).
    assert.deepEqual(ev.filter((e) => e.endsWith(" gc")), ["lock gc", "unlock gc"], ev.join("\n"));
    assert.ok(ev.indexOf("lock gc") < ev.indexOf(`lock ${REPO_LOCK}`), ev.join("\n"));
    assert.ok(
      ev.indexOf("unlock gc") < ev.indexOf("write repositories/demo/hello/_index.json"),
      ev.join("\n"),
    );
  }));

/**
 * Publishes a 2-layer image as demo/hello:v1, then, with a long lock lead time, the same
 * image as v2 (every object present: a re-tag); returns the events of the second.
 */
async function retagAhead(tmp: string, store: RecordingStore): Promise<string[]> {
  await makeOciLayout(`${tmp}/src`, { layers: 2 });
  await publishFrom(`oci:${tmp}/src`, store, "demo/hello", "v1");
  store.lockLeadMs = 60_000;
  store.events = [];
  await publishFrom(`oci:${tmp}/src`, store, "demo/hello", "v2");
  return store.events;
}

/** A RecordingStore whose repository lock is held only after `delayMs` ("held <name>"). */
class SlowRepoLock extends RecordingStore {
  delayMs = 0;
  override async lock(name: string, opts?: LockOptions): Promise<() => Promise<void>> {
    const release = await super.lock(name, opts);
    if (name.startsWith("repo:")) {
      await sleep(this.delayMs);
      this.events.push(`held ${name}`);
    }
    return release;
  }
}

Deno.test("a gc barrier passed ahead too long before the repository lock is held is passed again", () =>
  withTemp(async (tmp) => {
    const store = new SlowRepoLock(`${tmp}/store`);
    store.delayMs = AHEAD_FRESH_MS + 200;
    const ev = await retagAhead(tmp, store);
    // The pass ahead was over AHEAD_FRESH_MS old when the commit held the repository lock:
    // the tag index must follow a barrier within the commit window, so it passes again.
    assert.equal(ev.filter((e) => e === "lock gc").length, 2, ev.join("\n"));
    const held = ev.indexOf(`held ${REPO_LOCK}`);
    assert.ok(ev.indexOf("lock gc") < held && held < ev.lastIndexOf("lock gc"), ev.join("\n"));
    assert.ok(
      ev.lastIndexOf("unlock gc") < ev.indexOf("write repositories/demo/hello/_index.json"),
      ev.join("\n"),
    );
  }));

Deno.test("a publish that fails after taking its locks early releases them", () =>
  withTemp(async (tmp) => {
    await makeOciLayout(`${tmp}/src`, {
      layers: 3,
      layerSize: 256 * 1024,
      corrupt: { what: "layer", how: "flip" },
    });
    const store = new RecordingStore(`${tmp}/store`);
    store.lockLeadMs = 60_000;
    await assert.rejects(
      publishFrom(`oci:${tmp}/src`, store, "demo/hello", "v1"),
      /content digest is/,
    );
    assert.ok(store.events.includes(`lock ${REPO_LOCK}`), store.events.join("\n"));
    assert.deepEqual(await fs.readdir(`${tmp}/store/.locks`), []);
    // And the next publisher is not kept waiting.
    const release = await new DirStore(`${tmp}/store`, { lockTimeoutMs: 100 }).lock(REPO_LOCK);
    await release();
  }));

Deno.test("LocksAhead.abandon() stops an acquisition that waits for another holder", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    const held = await store.lock("catalog");
    const locks = new LocksAhead(store, ["catalog"]);
    locks.start();
    const t0 = performance.now();
    await locks.abandon(); // would otherwise wait for the 60 s lock timeout
    assert.ok(performance.now() - t0 < 5_000);
    await held();
    assert.deepEqual(await fs.readdir(`${tmp}/store/.locks`), []);
  }));

async function pendingRequests(store: DirStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(".catalog/pending/")) keys.push(o.key);
  return keys;
}
