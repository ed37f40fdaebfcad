/**
 * startInstance() and the access log / metrics settings: `log.access` (on by default,
 * `false` turns it off, a reload switches it), `metrics.listen` (a second address serving
 * only `/metrics`; the API address answers 404 there).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { loadConfig } from "../../lib/config/load.ts";
import { startInstance } from "../../lib/cli/instance.ts";
import { memorySink } from "../../lib/log_sink.ts";
import { freePort } from "../helpers/ports.ts";
import { memoryLogger, REPO, TAG, withTempDir, writeStore } from "./fixture.ts";

const status = async (url: string) => {
  const res = await fetch(url);
  await res.body?.cancel();
  return res.status;
};

Deno.test("startInstance(): log.access on by default, off with false, switched by a reload", async () => {
  await withTempDir(async (dir) => {
    await writeStore(path.join(dir, "store"));
    const file = path.join(dir, "cfg.json");
    const write = (access?: boolean) =>
      fs.writeFile(
        file,
        JSON.stringify({
          listen: "127.0.0.1:0",
          store: "store",
          ...(access === undefined ? {} : { log: { access } }),
        }),
      );
    await write();
    const sink = memorySink();
    const { log } = memoryLogger();
    const inst = await startInstance(await loadConfig({ file }), {
      log,
      sink,
      reloadConfig: () => loadConfig({ file }),
    });
    try {
      const m = `${inst.address.url}/v2/${REPO}/manifests/${TAG}`;
      assert.equal(await status(m), 200);
      assert.equal(sink.lines.length, 1);
      assert.equal(JSON.parse(sink.lines[0]).path, `/v2/${REPO}/manifests/${TAG}`);
      await write(false);
      assert.equal(await inst.reload(), true);
      assert.equal(await status(m), 200);
      assert.equal(sink.lines.length, 1, "off after the reload");
      await write(true);
      assert.equal(await inst.reload(), true);
      assert.equal(await status(m), 200);
      assert.equal(sink.lines.length, 2, "on again");
    } finally {
      await inst.stop();
    }
  });
});

Deno.test("startInstance(): metrics.listen serves /metrics there and nowhere else", async () => {
  await withTempDir(async (dir) => {
    await writeStore(path.join(dir, "store"));
    const file = path.join(dir, "cfg.json");
    const port = freePort();
    await fs.writeFile(
      file,
      JSON.stringify({
        listen: "127.0.0.1:0",
        store: "store",
        metrics: { listen: `127.0.0.1:${port}` },
      }),
    );
    const { log, lines } = memoryLogger();
    const inst = await startInstance(await loadConfig({ file }), {
      log,
      reloadConfig: () => loadConfig({ file }),
    });
    try {
      assert.equal(await status(`${inst.address.url}/v2/${REPO}/manifests/${TAG}`), 200);
      assert.equal(await status(`${inst.address.url}/metrics`), 404);
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      const text = await res.text();
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
      assert.match(
        text,
        /static_registry_requests_total\{route="manifests",method="GET",status="200"\} 1/,
      );
      assert.equal(await status(`http://127.0.0.1:${port}/v2/`), 404);
      assert.equal(await status(`http://127.0.0.1:${port}/healthz`), 404);
      assert.equal(lines.find((l) => l.msg === "listening")?.metrics, `http://127.0.0.1:${port}`);
      // A reload keeps /metrics where it is (the listener is fixed until a restart).
      assert.equal(await inst.reload(), true);
      assert.equal(await status(`${inst.address.url}/metrics`), 404);
      assert.equal(await status(`http://127.0.0.1:${port}/metrics`), 200);
    } finally {
      await inst.stop();
    }
    // Stopped: the metrics address is free again.
    await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`));
  });
});
