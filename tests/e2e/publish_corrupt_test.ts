/**
 * @module
 * End-to-end: publishing a source with a damaged blob through the COMPILED binary fails,
 * names the blob, and leaves the store as it was (image-spec §"Descriptors": content MUST
 * be verified against its digest; DESIGN.md "Write order"). Blobs are content-addressed, so
 * the one thing a failed publish may leave is a correct blob that was verified before the
 * damaged one was reached: nothing that existed changes, no index document or catalog
 * moves, the damaged digest never lands, no temp file stays behind.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { makeOciLayout } from "../helpers/image.ts";
import { runBinary } from "../helpers/binary.ts";
import { publish } from "./fixture.ts";

interface Entry {
  size: number;
  mtime: number;
}

/** Every file under `root` by relative path, with size and mtime. */
async function snapshot(root: string, rel = ""): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  for await (const e of Deno.readDir(`${root}/${rel}`)) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) {
      for (const [k, v] of await snapshot(root, p)) out.set(k, v);
    } else {
      const st = await Deno.stat(`${root}/${p}`);
      out.set(p, { size: st.size, mtime: st.mtime?.getTime() ?? 0 });
    }
  }
  return out;
}

const cases = [
  { what: "layer", how: "flip" },
  { what: "layer", how: "truncate" },
  { what: "config", how: "append" },
] as const;

Deno.test({
  name: "e2e: publish of a corrupt source exits non-zero, names the blob, store unchanged",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-corrupt-" });
    try {
      const store = `${tmp}/store`;
      await Deno.mkdir(store);
      await makeOciLayout(`${tmp}/good`, { tag: "v1", layers: 2, seed: "e2e-good" });
      await publish(`${tmp}/good`, "v1", "e2e/good:v1", store);
      for (const c of cases) {
        await t.step(`${c.what} ${c.how}`, async () => {
          const before = await snapshot(store);
          const src = `${tmp}/bad-${c.what}-${c.how}`;
          const image = await makeOciLayout(src, {
            tag: "v1",
            layers: 3,
            seed: `e2e-bad-${c.what}-${c.how}`,
            corrupt: c,
          });
          const bad = image.corrupted!;
          const r = await runBinary(["publish", `oci:${src}:v1`, "e2e/bad:v1", "--to", store]);
          assert.notEqual(r.code, 0, `publish succeeded:\n${r.stdout}\n${r.stderr}`);
          assert.ok(
            `${r.stderr}\n${r.stdout}`.includes(bad),
            `output does not name ${bad}:\n${r.stderr}`,
          );
          const after = await snapshot(store);
          for (const [p, e] of before) {
            assert.deepEqual(after.get(p), e, `${p} changed or vanished`);
          }
          for (const [p] of after) {
            if (before.has(p)) continue;
            const m = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(p);
            assert.ok(m, `publish left ${p} behind`);
            const got = createHash("sha256").update(await Deno.readFile(`${store}/${p}`)).digest(
              "hex",
            );
            assert.equal(got, m[1], `${p} holds other content`);
            assert.notEqual(`sha256:${m[1]}`, bad);
          }
        });
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
