/**
 * startInstance(): the server `serve` runs, driven in-process (no signals): it listens,
 * serves the index, survives an unreachable store and broken configs on reload, and
 * stops cleanly.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { loadConfig } from "../../lib/config/load.ts";
import { startInstance } from "../../lib/cli/instance.ts";
import { memoryLogger, REPO, TAG, withTempDir, writeStore } from "./fixture.ts";

async function get(url: string): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text(), headers: res.headers };
}

Deno.test("startInstance() serves the store's index on the configured address", async () => {
  await withTempDir(async (dir) => {
    const { digest, manifest } = await writeStore(path.join(dir, "store"));
    const file = path.join(dir, "cfg.json");
    await fs.writeFile(
      file,
      JSON.stringify({ listen: "127.0.0.1:0", store: "store", log: { level: "debug" } }),
    );
    const config = await loadConfig({ file });
    const { log, lines } = memoryLogger();
    const inst = await startInstance(config, { log, reloadConfig: () => loadConfig({ file }) });
    try {
      assert.equal(inst.address.hostname, "127.0.0.1");
      assert.notEqual(inst.address.port, 0);
      const listening = lines.find((l) => l.msg === "listening");
      assert.equal(listening?.address, inst.address.url);
      const base = await get(`${inst.address.url}/v2/`);
      assert.equal(base.status, 200);
      assert.equal(base.headers.get("docker-distribution-api-version"), "registry/2.0");
      const m = await get(`${inst.address.url}/v2/${REPO}/manifests/${TAG}`);
      assert.equal(m.status, 200);
      assert.equal(m.headers.get("docker-content-digest"), digest);
      assert.equal(m.body, new TextDecoder().decode(manifest));
      assert.equal((await get(`${inst.address.url}/readyz`)).status, 200);
    } finally {
      await inst.stop();
    }
  });
});

Deno.test("startInstance() keeps serving with /readyz 503 when the store cannot be loaded, and recovers", async () => {
  await withTempDir(async (dir) => {
    const storeDir = path.join(dir, "store");
    await fs.mkdir(storeDir);
    const file = path.join(dir, "cfg.json");
    await fs.writeFile(
      file,
      JSON.stringify({ listen: "127.0.0.1:0", store: "store", refresh: { interval: "100ms" } }),
    );
    const config = await loadConfig({ file });
    const { log, lines } = memoryLogger();
    const inst = await startInstance(config, { log, reloadConfig: () => loadConfig({ file }) });
    try {
      const err = lines.find((l) => String(l.msg).startsWith("cannot load the index"));
      assert.ok(err, "the failed load is logged");
      assert.equal(err.store, storeDir);
      assert.equal((await get(`${inst.address.url}/healthz`)).status, 200);
      assert.equal((await get(`${inst.address.url}/readyz`)).status, 503);
      await writeStore(storeDir);
      // The refresh timer (100ms) retries the load.
      const deadline = Date.now() + 5000;
      while ((await get(`${inst.address.url}/readyz`)).status !== 200) {
        assert.ok(Date.now() < deadline, "never became ready after the store appeared");
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal((await get(`${inst.address.url}/v2/${REPO}/manifests/${TAG}`)).status, 200);
    } finally {
      await inst.stop();
    }
  });
});

Deno.test("Instance.reload() keeps the running config when the new one is broken, applies a good one", async () => {
  await withTempDir(async (dir) => {
    const a = await writeStore(path.join(dir, "a"), "a");
    const b = await writeStore(path.join(dir, "b"), "b");
    const file = path.join(dir, "cfg.json");
    await fs.writeFile(file, JSON.stringify({ listen: "127.0.0.1:0", store: "a" }));
    const config = await loadConfig({ file });
    const { log, lines } = memoryLogger();
    const inst = await startInstance(config, { log, reloadConfig: () => loadConfig({ file }) });
    const digestNow = async () =>
      (await get(`${inst.address.url}/v2/${REPO}/manifests/${TAG}`)).headers.get(
        "docker-content-digest",
      );
    try {
      assert.equal(await digestNow(), a.digest);

      await fs.writeFile(file, JSON.stringify({ store: "b", refresh: { interval: "soon" } }));
      assert.equal(await inst.reload(), false);
      const failed = lines.find((l) => String(l.msg).startsWith("config reload failed"));
      assert.match(
        String(failed?.reason),
        /refresh\.interval: expected a duration like "10s", got "soon"/,
      );
      assert.equal(await digestNow(), a.digest);

      await fs.writeFile(file, JSON.stringify({ listen: "127.0.0.1:0", store: "missing-dir" }));
      assert.equal(await inst.reload(), false);
      assert.equal(await digestNow(), a.digest);

      await fs.writeFile(file, JSON.stringify({ listen: "127.0.0.1:0", store: "b" }));
      assert.equal(await inst.reload(), true);
      assert.equal(await digestNow(), b.digest);
      assert.equal(inst.config.store.location, path.join(dir, "b"));
    } finally {
      await inst.stop();
    }
  });
});

Deno.test("startInstance() fails when the address is taken", async () => {
  await withTempDir(async (dir) => {
    await writeStore(path.join(dir, "store"));
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const port = (listener.addr as Deno.NetAddr).port;
      const config = await loadConfig({
        flags: { store: path.join(dir, "store"), listen: `127.0.0.1:${port}` },
      });
      const { log } = memoryLogger();
      await assert.rejects(
        startInstance(config, { log, reloadConfig: () => Promise.resolve(config) }),
        /in use|EADDRINUSE/i,
      );
    } finally {
      listener.close();
    }
  });
});

Deno.test("Instance.stop() lets an in-flight blob download finish and refuses new connections", async () => {
  await withTempDir(async (dir) => {
    const size = 32 << 20;
    const { layer } = await writeStore(path.join(dir, "store"), "big", size);
    const config = await loadConfig({
      flags: { store: path.join(dir, "store"), listen: "127.0.0.1:0" },
    });
    const { log } = memoryLogger();
    const inst = await startInstance(config, { log, reloadConfig: () => Promise.resolve(config) });
    const res = await fetch(`${inst.address.url}/v2/${REPO}/blobs/${layer}`);
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let got = (await reader.read()).value?.byteLength ?? 0;
    let stopped = false;
    const stopping = inst.stop().then(() => stopped = true);
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(
      fetch(`${inst.address.url}/v2/`),
      "a new connection after stop() is refused",
    );
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      got += value.byteLength;
    }
    assert.equal(got, size, "the in-flight download completed");
    await stopping;
    assert.ok(stopped);
  });
});

Deno.test("Instance.reload() swaps origins in and out (blob GETs follow the config)", async () => {
  await withTempDir(async (dir) => {
    const { layer } = await writeStore(path.join(dir, "store"));
    const file = path.join(dir, "cfg.json");
    const write = (extra: object) =>
      fs.writeFile(file, JSON.stringify({ listen: "127.0.0.1:0", store: "store", ...extra }));
    await write({});
    const { log } = memoryLogger();
    const inst = await startInstance(await loadConfig({ file }), {
      log,
      reloadConfig: () => loadConfig({ file }),
    });
    const blob = async () => {
      const res = await fetch(`${inst.address.url}/v2/${REPO}/blobs/${layer}`, {
        redirect: "manual",
      });
      await res.body?.cancel();
      return res.status;
    };
    try {
      assert.equal(await blob(), 200, "no origins: the directory store streams the blob");
      // Nothing listens on port 1: the origin is unhealthy after its first probe.
      await write({
        origins: [{ name: "dead", url: "http://127.0.0.1:1/registry" }],
        health: { interval: "1s", timeout: "200ms", rise: 1, fall: 1 },
      });
      assert.equal(await inst.reload(), true);
      assert.equal((await get(`${inst.address.url}/readyz`)).status, 503);
      assert.equal(await blob(), 503, "no healthy origin");
      await write({});
      assert.equal(await inst.reload(), true);
      assert.equal((await get(`${inst.address.url}/readyz`)).status, 200);
      assert.equal(await blob(), 200);
    } finally {
      await inst.stop();
    }
  });
});

Deno.test("startInstance() with a healthy origin redirects blob GETs to it", async () => {
  await withTempDir(async (dir) => {
    const { layer } = await writeStore(path.join(dir, "store"));
    // A stand-in CDN that has every object (the health check GETs the marker: the store's).
    const marker = await Deno.readFile(path.join(dir, "store", "static-registry.json"));
    const cdn = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => new Response(req.url.endsWith("/static-registry.json") ? marker : "ok"),
    );
    try {
      const origin = `http://127.0.0.1:${cdn.addr.port}/registry`;
      const config = await loadConfig({
        flags: { store: path.join(dir, "store"), listen: "127.0.0.1:0" },
        env: {},
      }).then((c) => ({ ...c, origins: [{ name: "cdn", url: `${origin}/`, verifyBlobs: false }] }));
      const { log } = memoryLogger();
      const inst = await startInstance(config, {
        log,
        reloadConfig: () => Promise.resolve(config),
      });
      try {
        assert.equal((await get(`${inst.address.url}/readyz`)).status, 200);
        const res = await fetch(`${inst.address.url}/v2/${REPO}/blobs/${layer}`, {
          redirect: "manual",
        });
        await res.body?.cancel();
        assert.equal(res.status, 307);
        assert.equal(res.headers.get("location"), `${origin}/blobs/${layer.replace(":", "/")}`);
      } finally {
        await inst.stop();
      }
    } finally {
      await cdn.shutdown();
    }
  });
});
