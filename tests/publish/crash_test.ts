/**
 * @module
 * Crash safety: a real publish (a child process running the CLI entry point) is SIGKILLed
 * at spread-out moments of its run; after each kill the store must verify clean (no tag
 * whose content is missing) and a rerun must complete. The kill moments are stratified
 * over the measured duration of a full publish, so early (blobs), middle (manifests) and
 * late (tag index, catalog, lock held) kills all happen.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { makeOciLayout } from "../helpers/image.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import type { RepoIndex } from "../../lib/layout/layout.ts";
import { publishFrom, snapshot, withTemp } from "./helpers.ts";

const CHILD = path.join(import.meta.dirname!, "publish_child.ts");
const KILLS = 10;

interface Run {
  /** ms from "ready" (modules loaded) to exit, or to the kill. */
  ms: number;
  code: number | null;
  signal: string | null;
  stderr: string;
}

/** Runs the child; with `killAfterMs`, SIGKILLs it (by its PID) that long after "ready". */
async function runChild(args: string[], killAfterMs?: number): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, ...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  let readyAt = 0;
  let onReady: () => void = () => {};
  const ready = new Promise<void>((r) => (onReady = r));
  const drain = (async () => {
    for await (const s of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr += s;
      if (!readyAt && stderr.includes("ready")) {
        readyAt = performance.now();
        onReady();
      }
    }
  })();
  const status = child.status;
  await Promise.race([ready, status]);
  if (killAfterMs !== undefined && readyAt) {
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
    }, killAfterMs);
    await status;
    clearTimeout(timer);
  }
  const s = await status;
  await drain;
  return {
    ms: performance.now() - readyAt,
    code: s.signal ? null : s.code,
    signal: s.signal,
    stderr,
  };
}

/** Which stage the killed publish reached, from what is visible in the store. */
function stage(snap: Record<string, string>): string {
  if ("catalog.json" in snap) return "catalog";
  if (Object.keys(snap).some((k) => k.startsWith("repositories/"))) return "tag index";
  if (Object.keys(snap).some((k) => k.startsWith("blobs/"))) return "blobs";
  return "nothing";
}

Deno.test({
  name: "publish survives SIGKILL at any moment: store verifies clean, rerun completes",
  sanitizeResources: false,
  fn: () =>
    withTemp(async (tmp) => {
      const img = await makeOciLayout(`${tmp}/src`, {
        tag: "v1",
        layers: 32,
        layerSize: 256 * 1024,
        platforms: [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }],
      });
      const args = (store: string) => [`oci:${tmp}/src:v1`, "demo/crash:v1", "--to", store];

      // Calibrate: how long a full publish takes once the child is ready (the second of two
      // runs: the first pays for cold caches and would spread the kills past the end).
      await runChild(args(`${tmp}/calibrate-0`));
      const full = await runChild(args(`${tmp}/calibrate-1`));
      assert.equal(full.code, 0, full.stderr);
      const span = Math.max(full.ms, 50);

      const seen: string[] = [];
      for (let i = 0; i < KILLS; i++) {
        const root = `${tmp}/store-${i}`;
        const delay = span * (i + Math.random()) / KILLS;
        const run = await runChild(args(root), delay);
        const snap = await snapshot(root);
        seen.push(`${Math.round(delay)}ms:${run.signal ? "killed" : "exited"}@${stage(snap)}`);
        const store = new DirStore(root, { lockTimeoutMs: 5_000 });
        assert.deepEqual(await verifyStore(store), [], `after kill at ${delay}ms: ${seen.at(-1)}`);
        if (run.signal === null) assert.equal(run.code, 0, run.stderr);

        // The rerun reuses what was copied and takes over a lock the dead child left.
        await publishFrom(`oci:${tmp}/src:v1`, store, "demo/crash", "v1");
        assert.deepEqual(await verifyStore(store, { deep: true }), []);
        const index = JSON.parse(
          await Deno.readTextFile(`${root}/repositories/demo/crash/_index.json`),
        ) as RepoIndex;
        assert.equal(index.tags.v1, img.rootDigest);
        await Deno.remove(root, { recursive: true });
      }
      console.log(`full publish ${Math.round(full.ms)} ms; kills: ${seen.join(", ")}`);
      assert.ok(
        seen.some((s) => s.includes("killed@blobs") || s.includes("killed@nothing")),
        `no kill landed during the copy: ${seen.join(", ")}`,
      );
    }),
});

/** A DirStore whose `failAt`-th write (0-based) fails like a crash before the rename. */
class FailingStore extends DirStore {
  writes = 0;
  constructor(root: string, readonly failAt: number) {
    super(root);
  }
  override write(
    key: string,
    body: Uint8Array | ReadableStream<Uint8Array>,
    meta: Parameters<DirStore["write"]>[2],
  ): Promise<void> {
    if (this.writes++ === this.failAt) {
      return Promise.reject(new Error(`simulated crash writing ${key}`));
    }
    return super.write(key, body, meta);
  }
}

Deno.test("publish() interrupted at every single write leaves a consistent store", async (t) => {
  for (const prepopulated of [false, true]) {
    await t.step(
      prepopulated ? "store holding another repository" : "empty store",
      () =>
        withTemp(async (tmp) => {
          const img = await makeOciLayout(`${tmp}/src`, {
            platforms: [{ os: "linux", architecture: "amd64" }, {
              os: "linux",
              architecture: "arm64",
            }],
            referrer: true,
          });
          await makeOciLayout(`${tmp}/other`, { seed: "other", baseSeed: "seed" });
          const prepare = async (root: string) => {
            if (prepopulated) {
              await publishFrom(`oci:${tmp}/other`, new DirStore(root), "demo/other", "old");
            }
          };
          // Count the writes of a full publish, then fail each one in turn.
          await prepare(`${tmp}/count`);
          const counter = new FailingStore(`${tmp}/count`, -1);
          await publishFrom(`oci:${tmp}/src`, counter, "demo/crash", "v1");
          assert.ok(counter.writes > 10, `${counter.writes} writes`);
          for (let k = 0; k < counter.writes; k++) {
            const root = `${tmp}/store-${k}`;
            await prepare(root);
            const before = await snapshot(root);
            const store = new FailingStore(root, k);
            await assert.rejects(
              publishFrom(`oci:${tmp}/src`, store, "demo/crash", "v1"),
              /simulated crash/,
            );
            assert.deepEqual(await verifyStore(store), [], `failure at write ${k}`);
            // Whatever was visible before (the other repository) is untouched.
            const after = await snapshot(root);
            for (const key of Object.keys(before)) assert.equal(after[key], before[key], key);
            await publishFrom(`oci:${tmp}/src`, new DirStore(root), "demo/crash", "v1");
            assert.deepEqual(await verifyStore(new DirStore(root)), []);
            const index = JSON.parse(
              await Deno.readTextFile(`${root}/repositories/demo/crash/_index.json`),
            ) as RepoIndex;
            assert.equal(index.tags.v1, img.rootDigest);
          }
        }),
    );
  }
});
