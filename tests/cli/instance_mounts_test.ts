/**
 * startInstance() with mounts (federation): every store served under its prefix, reload
 * adding/removing mounts and keeping the unchanged stores' registries, a broken mount
 * failing the reload as a whole, and stop() leaving no timer or health checker behind
 * (Deno's op sanitizer fails the test otherwise).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { loadConfig } from "../../lib/config/load.ts";
import { startInstance } from "../../lib/cli/instance.ts";
import { memoryLogger, REPO, TAG, withTempDir, writeStore } from "./fixture.ts";

async function digestOf(url: string): Promise<string | number> {
  const res = await fetch(url);
  await res.body?.cancel();
  return res.status === 200 ? res.headers.get("docker-content-digest")! : res.status;
}

async function catalog(base: string): Promise<string[]> {
  return (await (await fetch(`${base}/v2/_catalog`)).json()).repositories;
}

Deno.test("startInstance() serves mounts and reloads them", async () => {
  await withTempDir(async (dir) => {
    const a = await writeStore(path.join(dir, "a"), "a");
    const b = await writeStore(path.join(dir, "b"), "b");
    const c = await writeStore(path.join(dir, "c"), "c");
    const file = path.join(dir, "etc", "cfg.json");
    await fs.mkdir(path.dirname(file));
    const write = (mounts: unknown[], extra: object = {}) =>
      fs.writeFile(
        file,
        JSON.stringify({ listen: "127.0.0.1:0", store: "../a", mounts, ...extra }),
      );
    await write([{ prefix: "team-a", store: "../b" }]);
    const { log, lines } = memoryLogger();
    const inst = await startInstance(await loadConfig({ file }), {
      log,
      reloadConfig: () => loadConfig({ file }),
    });
    const u = inst.address.url;
    const loads = (store: string) =>
      lines.filter((l) => l.msg === "index loaded" && l.store === path.join(dir, store)).length;
    try {
      assert.deepEqual(lines.find((l) => l.msg === "listening")?.mounts, ["team-a"]);
      assert.equal(await digestOf(`${u}/v2/${REPO}/manifests/${TAG}`), a.digest);
      assert.equal(await digestOf(`${u}/v2/team-a/${REPO}/manifests/${TAG}`), b.digest);
      assert.deepEqual(await catalog(u), [REPO, `team-a/${REPO}`]);
      assert.equal((await fetch(`${u}/readyz`)).status, 200);

      // Add a mount: the unchanged stores keep their registries (no second load).
      await write([{ prefix: "team-a", store: "../b" }, { prefix: "org/c", store: "../c" }]);
      assert.equal(await inst.reload(), true);
      assert.equal(await digestOf(`${u}/v2/org/c/${REPO}/manifests/${TAG}`), c.digest);
      assert.deepEqual(await catalog(u), [REPO, `org/c/${REPO}`, `team-a/${REPO}`]);
      assert.equal(loads("a"), 1);
      assert.equal(loads("b"), 1);
      assert.equal(loads("c"), 1);
      const mountLine = lines.find((l) => l.msg === "index loaded" && l.mount === "org/c");
      assert.ok(mountLine, "a mount's log lines name the mount");

      // A mount whose directory does not exist fails the whole reload; the old one serves.
      await write([{ prefix: "team-a", store: "../b" }, { prefix: "org/c", store: "../nope" }]);
      assert.equal(await inst.reload(), false);
      assert.ok(lines.some((l) => l.msg === "reload failed; keeping the running config"));
      assert.equal(await digestOf(`${u}/v2/org/c/${REPO}/manifests/${TAG}`), c.digest);

      // Move team-a to another store, drop org/c.
      await write([{ prefix: "team-a", store: "../c" }]);
      assert.equal(await inst.reload(), true);
      assert.equal(await digestOf(`${u}/v2/team-a/${REPO}/manifests/${TAG}`), c.digest);
      assert.equal(await digestOf(`${u}/v2/org/c/${REPO}/manifests/${TAG}`), 404);
      assert.deepEqual(inst.config.mounts.map((m) => m.prefix), ["team-a"]);
    } finally {
      await inst.stop();
    }
  });
});

Deno.test("startInstance(): a mount with a dead origin makes /readyz 503, the rest serves", async () => {
  await withTempDir(async (dir) => {
    const a = await writeStore(path.join(dir, "a"), "a");
    const b = await writeStore(path.join(dir, "b"), "b");
    const file = path.join(dir, "cfg.json");
    // Nothing listens on port 1: the origin is unhealthy after its first probe.
    await fs.writeFile(
      file,
      JSON.stringify({
        listen: "127.0.0.1:0",
        store: "a",
        mounts: [{
          prefix: "team-b",
          store: "b",
          origins: [{ name: "dead", url: "http://127.0.0.1:1/registry" }],
        }],
        health: { interval: "1s", timeout: "200ms", rise: 1, fall: 1 },
      }),
    );
    const { log } = memoryLogger();
    const inst = await startInstance(await loadConfig({ file }), {
      log,
      reloadConfig: () => loadConfig({ file }),
    });
    const u = inst.address.url;
    try {
      const ready = await fetch(`${u}/readyz`);
      assert.equal(ready.status, 503);
      const body = await ready.json();
      assert.equal(body.index.ready, true);
      assert.equal(body.mounts[0].prefix, "team-b");
      assert.equal(body.mounts[0].origins.ready, false);
      const blob = await fetch(`${u}/v2/team-b/${REPO}/blobs/${b.layer}`, { redirect: "manual" });
      await blob.body?.cancel();
      assert.equal(blob.status, 503, "the mount's blobs need its origins");
      const rootBlob = await fetch(`${u}/v2/${REPO}/blobs/${a.layer}`);
      await rootBlob.body?.cancel();
      assert.equal(rootBlob.status, 200, "the root (no origins) streams its blobs");
    } finally {
      await inst.stop();
    }
  });
});
