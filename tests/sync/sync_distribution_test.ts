/**
 * @module
 * `static-registry sync` (the compiled binary) from a real CNCF distribution through the
 * counting proxy: tag filters (regex, semver, newest), all tags of a repository, a
 * platform filter on a two-platform index, a second run that costs one manifest GET per
 * image and copies nothing, a failing entry that leaves the others synced (exit 1), a
 * moved tag, and --dry-run.
 */
import assert from "node:assert/strict";
import { distributionAvailable } from "../helpers/distribution.ts";
import { binaryExists } from "../helpers/binary.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { pushLayoutHttp } from "../helpers/distribution.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { readIndex, runSync, startUpstream, summaryOf } from "./fixture.ts";

const amd64 = { os: "linux", architecture: "amd64" };
const arm64 = { os: "linux", architecture: "arm64" };

Deno.test({
  name: "sync from CNCF distribution: filters, platforms, second run, failures, tag moves",
  ignore: !distributionAvailable() || !binaryExists(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-sync-" });
    const up = await startUpstream(tmp, [
      ...["v1.0.0", "v1.1.0", "v1.2.0", "v2.0.0", "latest", "nightly"].map((tag) => ({
        ref: `src/app:${tag}`,
        opts: { layers: 1, layerSize: 2048 },
      })),
      { ref: "src/multi:v1", opts: { platforms: [amd64, arm64], layers: 2 } },
      { ref: "src/single:v1", opts: { layers: 3, baseSeed: "shared" } },
    ]);
    const store = `${tmp}/store`;
    const H = up.addr;
    const file = `${tmp}/sync.yaml`;
    await Deno.writeTextFile(
      file,
      `# mirror of the test upstream
concurrency: 3
images:
  - source: docker://${H}/src/app
    tags: { semver: ">=1.0.0 <2", newest: 2 }
  - source: docker://${H}/src/app
    target: mirror/app-named
    tags: { regex: "^(latest|nightly)$" }
  - source: docker://${H}/src/multi:v1
    platforms: [linux/arm64]
  - source: docker://${H}/src/single
    target: mirror/single
`,
    );
    try {
      await t.step("first run copies what the filters select", async () => {
        const r = await runSync([file, "--to", store, "--json"]);
        assert.equal(r.code, 0, r.stderr + r.stdout);
        const s = summaryOf(r);
        assert.equal(s.copied, 6, r.stdout);
        assert.equal(s.failed, 0);
        assert.ok(s.bytes > 0 && s.mbPerSecond >= 0 && s.seconds > 0);
        const app = await readIndex(store, "src/app");
        assert.deepEqual(Object.keys(app!.tags).sort(), ["v1.1.0", "v1.2.0"]);
        assert.equal(app!.tags["v1.2.0"], up.images["src/app:v1.2.0"].rootDigest);
        const named = await readIndex(store, "mirror/app-named");
        assert.deepEqual(Object.keys(named!.tags).sort(), ["latest", "nightly"]);
        const single = await readIndex(store, "mirror/single");
        assert.equal(single!.tags.v1, up.images["src/single:v1"].rootDigest);
        assert.deepEqual(await verifyStore(new DirStore(store)), []);
      });

      await t.step("platforms: only the arm64 child of the index is stored", async () => {
        const img = up.images["src/multi:v1"];
        const [a, b] = img.manifests;
        const [amd, arm] = a.platform.architecture === "amd64" ? [a, b] : [b, a];
        const idx = (await readIndex(store, "src/multi"))!;
        assert.equal(idx.tags.v1, img.rootDigest, "the index is kept with its digest");
        assert.deepEqual(idx.manifests[img.rootDigest].children, [arm.digest]);
        assert.ok(idx.manifests[arm.digest]);
        assert.equal(idx.manifests[amd.digest], undefined);
        for (const blob of arm.blobs) assert.ok(idx.blobs[blob] !== undefined);
        for (const blob of amd.layers.map((l) => l.digest)) {
          const file = `${store}/blobs/sha256/${blob.slice(7)}`;
          await assert.rejects(Deno.stat(file), Deno.errors.NotFound, `amd64 layer ${blob}`);
        }
      });

      await t.step("second run: one manifest GET per image, nothing else, 0 copied", async () => {
        up.proxy.requests.length = 0;
        const r = await runSync([file, "--to", store]);
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.match(r.stdout, /: 0 copied, 6 skipped, 0 failed/);
        const manifests = up.proxy.requests.filter((q) => q.path.includes("/manifests/"));
        const blobs = up.proxy.requests.filter((q) => q.path.includes("/blobs/"));
        const lists = up.proxy.requests.filter((q) => q.path.includes("/tags/list"));
        assert.equal(blobs.length, 0, JSON.stringify(blobs));
        assert.equal(manifests.length, 6, manifests.map((q) => q.path).join("\n"));
        assert.equal(new Set(manifests.map((q) => q.path)).size, 6, "each image once");
        assert.equal(lists.length, 3, "one tags/list per entry without a tag");
        assert.equal(up.proxy.requests.length, 9, up.proxy.requests.map((q) => q.path).join("\n"));
      });

      await t.step("--rate spaces the requests to the upstream host", async () => {
        up.proxy.requests.length = 0;
        const t0 = performance.now();
        const r = await runSync([file, "--to", store, "--rate", "5/s", "--dry-run"]);
        const took = performance.now() - t0;
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.equal(up.proxy.requests.length, 9);
        // 9 requests at 5 a second: the last no sooner than 8 × 200 ms after the first.
        assert.ok(took >= 1600, `9 requests at 5/s took ${took} ms`);
      });

      await t.step("a moved tag is copied again and says from what", async () => {
        const dir = `${tmp}/moved`;
        const moved = await makeOciLayout(dir, { tag: "v1.2.0", seed: "moved", layers: 1 });
        await pushLayoutHttp(dir, "v1.2.0", up.reg.addr, "src/app:v1.2.0");
        const r = await runSync([file, "--to", store]);
        assert.equal(r.code, 0, r.stderr + r.stdout);
        const old = up.images["src/app:v1.2.0"].rootDigest;
        assert.match(r.stdout, new RegExp(`copied .*src/app:v1\\.2\\.0 .*moved from ${old}`));
        assert.match(r.stdout, /: 1 copied, 5 skipped, 0 failed/);
        assert.equal((await readIndex(store, "src/app"))!.tags["v1.2.0"], moved.rootDigest);
      });

      await t.step("a digest-pinned image is stored untagged; then skipped", async () => {
        const img = up.images["src/single:v1"];
        const lines = `${tmp}/pinned.txt`;
        await Deno.writeTextFile(
          lines,
          `docker://${H}/src/single@${img.rootDigest} pinned/single\n`,
        );
        const r = await runSync([lines, "--to", store]);
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.match(r.stdout, new RegExp(`copied .*-> pinned/single@${img.rootDigest}`));
        const idx = (await readIndex(store, "pinned/single"))!;
        assert.deepEqual(Object.keys(idx.tags), []);
        assert.ok(idx.manifests[img.rootDigest]);
        for (const b of img.blobs) assert.ok(idx.blobs[b] !== undefined, b);
        const again = await runSync([lines, "--to", store]);
        assert.match(again.stdout, /: 0 copied, 1 skipped, 0 failed/);
        assert.deepEqual(await verifyStore(new DirStore(store)), []);
      });

      await t.step("--dry-run lists what would be copied and writes nothing", async () => {
        const lines = `${tmp}/dry.txt`;
        await Deno.writeTextFile(lines, `docker://${H}/src/app:v2.0.0 dry/app\n`);
        const r = await runSync([lines, "--to", store, "--dry-run"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /would copy .*src\/app:v2\.0\.0 -> dry\/app:v2\.0\.0/);
        assert.equal(await readIndex(store, "dry/app"), undefined);
      });

      await t.step(
        "one failing entry: exit 1, the message names it, the others synced",
        async () => {
          const lines = `${tmp}/lines.txt`;
          await Deno.writeTextFile(
            lines,
            `# line format
docker://${H}/src/app:v2.0.0 lines/app

docker://${H}/src/app:no-such-tag lines/missing   # fails: 404
docker://${H}/src/nothing-here                    # fails: no such repository
docker://${H}/src/multi:v1 lines/multi
`,
          );
          const r = await runSync([lines, "--to", store, "--json"]);
          assert.equal(r.code, 1, r.stdout);
          const s = summaryOf(r);
          assert.equal(s.copied, 2);
          assert.equal(s.failed, 2);
          const failed = s.images.filter((i: { status: string }) => i.status === "failed");
          assert.match(
            failed.map((f: { where: string }) => f.where).join(),
            /line 4.*line 5|line 5.*line 4/,
          );
          assert.ok(failed.some((f: { error: string }) => /no-such-tag.*404/.test(f.error)));
          assert.match(r.stderr, /2 of 4 image\(s\) failed/);
          assert.equal(
            (await readIndex(store, "lines/app"))!.tags["v2.0.0"],
            up.images["src/app:v2.0.0"].rootDigest,
          );
          const multi = (await readIndex(store, "lines/multi"))!;
          assert.equal(multi.manifests[up.images["src/multi:v1"].rootDigest].children?.length, 2);
        },
      );
    } finally {
      await up.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
