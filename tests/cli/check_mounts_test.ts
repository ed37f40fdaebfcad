/**
 * `static-registry check` with mounts, through main.ts in a subprocess: each mount's
 * store is checked against its own origins (stand-in CDNs over copies of the store), the
 * root without origins is checked itself, and a problem names the repository as clients see it
 * (`team-a/demo/hello:latest`).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { blobKey } from "../../lib/layout/layout.ts";
import { REPO, TAG, withTempDir, writeStore } from "./fixture.ts";

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../main.ts");

/** A stand-in CDN serving the files under `root` (GET/HEAD). */
function fileServer(root: string) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const p = decodeURIComponent(new URL(req.url).pathname);
    if (p.includes("..")) return new Response(null, { status: 400 });
    try {
      const bytes = await Deno.readFile(path.join(root, p));
      return new Response(req.method === "HEAD" ? null : bytes, {
        headers: { "content-length": String(bytes.byteLength) },
      });
    } catch {
      return new Response(null, { status: 404 });
    }
  });
  return { url: `http://127.0.0.1:${server.addr.port}/`, stop: () => server.shutdown() };
}

Deno.test("check command: checks every mount's store against its own origins", async () => {
  await withTempDir(async (dir) => {
    await writeStore(path.join(dir, "root"), "root");
    const a = await writeStore(path.join(dir, "a"), "a");
    await writeStore(path.join(dir, "b"), "b");
    await fs.cp(path.join(dir, "a"), path.join(dir, "a-edge"), { recursive: true });
    await fs.cp(path.join(dir, "b"), path.join(dir, "b-edge"), { recursive: true });
    const aEdge = fileServer(path.join(dir, "a-edge"));
    const bEdge = fileServer(path.join(dir, "b-edge"));
    try {
      const file = path.join(dir, "cfg.json");
      await fs.writeFile(
        file,
        JSON.stringify({
          store: "root",
          mounts: [
            { prefix: "team-a", store: "a", origins: [{ name: "edge-a", url: aEdge.url }] },
            { prefix: "team-b", store: "b", origins: [{ name: "edge-b", url: bEdge.url }] },
          ],
        }),
      );
      const run = async () => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", MAIN, "check", "--config", file, "--json"],
          stdin: "null",
          env: { STATIC_REGISTRY_LOG: "warn" },
          signal: AbortSignal.timeout(60_000),
        }).output();
        const dec = new TextDecoder();
        return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
      };
      let r = await run();
      assert.equal(r.code, 0, r.stderr);
      let report = JSON.parse(r.stdout);
      // The root has no origins: its store is checked itself (3 objects of its own).
      assert.equal(report.objects, 9, "3 objects (manifest, config, layer) per store");
      assert.deepEqual(report.origins.map((o: { name: string }) => o.name), ["edge-a", "edge-b"]);
      assert.deepEqual(report.stores.map((o: { name: string }) => o.name), ["store"]);

      await fs.rm(path.join(dir, "a-edge", blobKey(a.layer)));
      r = await run();
      assert.equal(r.code, 1, r.stderr);
      report = JSON.parse(r.stdout);
      assert.deepEqual(
        report.problems.map((
          p: { origin: string; kind: string; digest: string; ref: string },
        ) => [p.origin, p.kind, p.digest, p.ref]),
        [["edge-a", "missing", a.layer, `team-a/${REPO}:${TAG}`]],
      );
    } finally {
      await aEdge.stop();
      await bEdge.stop();
    }
  });
});
