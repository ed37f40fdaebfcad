/**
 * @module
 * Issue 9, defect 13, with the compiled binary: a publish from a registry that trickles a
 * large layer is sent SIGINT (or SIGTERM) by PID mid-copy. It must exit 130 (143), say what
 * the store holds, leave no `.part` file and a store that verifies clean with no tag; a
 * later publish removes the temp file of a dead publisher and keeps a live one's.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { hostname } from "node:os";
import * as path from "node:path";
import { buildImage, makeOciLayout } from "../helpers/image.ts";
import { binaryPath, runBinary } from "../helpers/binary.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { startFakeRegistry } from "../sources/fake_registry.ts";
import { tmpLeftovers, withTemp } from "./helpers.ts";

/** Waits until some temp file of the store has at least `bytes` (the copy is under way). */
async function untilCopying(root: string, bytes: number, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const name of await tmpLeftovers(root)) {
      const st = await fs.stat(path.join(root, ".tmp", name)).catch(() => null);
      if (st && st.size >= bytes) return st.size;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no temp file of ${bytes} bytes in ${root}/.tmp within ${timeoutMs} ms`);
}

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test({
    name: `binary: ${signal} mid-copy exits ${code}, says no tag changed, leaves no .part`,
    sanitizeResources: false,
    fn: async () => {
      const layerSize = 4 * 1024 * 1024;
      const { blobs, root, image } = await buildImage({ seed: "trickle", layers: 2, layerSize });
      const big = image.manifests[0].layers[1];
      const fake = startFakeRegistry({
        blobs,
        tags: { v1: root },
        fault: (r) =>
          r.ref === big.digest ? { trickle: { bytes: 64 * 1024, everyMs: 25 } } : undefined,
      });
      try {
        await withTemp(async (tmp) => {
          const store = `${tmp}/store`;
          const child = new Deno.Command(binaryPath(), {
            args: ["publish", `docker://${fake.addr}/src/x:v1`, "demo/x:v1", "--to", store],
            stdin: "null",
            stdout: "piped",
            stderr: "piped",
          }).spawn();
          const output = child.output();
          const at = await untilCopying(store, big.size / 5);
          child.kill(signal); // by PID
          const out = await output;
          const stderr = new TextDecoder().decode(out.stderr);
          assert.equal(out.code, code, stderr);
          assert.match(
            stderr,
            new RegExp(`interrupted by ${signal}: [0-9]+ of [0-9]+ blob\\(s\\) .* no tag changed`),
          );
          assert.deepEqual(await tmpLeftovers(store), [], `after ${at} bytes`);
          assert.deepEqual(await verifyStore(new DirStore(store)), []);
          await assert.rejects(fs.stat(`${store}/repositories/demo/x/_index.json`));
        });
      } finally {
        await fake.close();
      }
    },
  });
}

Deno.test({
  name: "binary: the next publish removes a dead publisher's .part and keeps a live one's",
  sanitizeResources: false,
  fn: () =>
    withTemp(async (tmp) => {
      await makeOciLayout(`${tmp}/src`, { tag: "v1" });
      const store = `${tmp}/store`;
      const first = await runBinary(["publish", `oci:${tmp}/src:v1`, "x:v1", "--to", store]);
      assert.equal(first.code, 0, first.stderr);
      const dead = new Deno.Command("true").spawn();
      await dead.status;
      const host = hostname().replace(/[^A-Za-z0-9.]/g, "_").slice(0, 64);
      const deadPart = `${dead.pid}-${host}-${crypto.randomUUID()}.part`;
      const livePart = `${Deno.pid}-${host}-${crypto.randomUUID()}.part`;
      await fs.writeFile(path.join(store, ".tmp", deadPart), new Uint8Array(12345));
      await fs.writeFile(path.join(store, ".tmp", livePart), new Uint8Array(10));
      // An unchanged re-publish writes nothing, and still cleans up.
      const again = await runBinary(["publish", `oci:${tmp}/src:v1`, "x:v1", "--to", store]);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(await tmpLeftovers(store), [livePart]);
    }),
});
