/**
 * @module
 * The calls publish() makes on its progress: a reporter written against the original
 * four methods still gets every byte and blob (the optional per-blob methods are only
 * called when present), and the per-blob calls name each blob with its own bytes.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { publish } from "../../lib/publish/publish.ts";
import type { PublishProgress } from "../../lib/publish/progress.ts";
import { openSource } from "../../lib/sources/open.ts";
import { parseSourceSpec } from "../../lib/sources/spec.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { withTempDir } from "./fixture.ts";

async function publishWith(src: string, store: DirStore, tag: string, progress: PublishProgress) {
  const source = await openSource(parseSourceSpec(`oci:${src}:v1`));
  try {
    return await publish({ source, store, name: "demo/app", tag, progress });
  } finally {
    await source.close();
  }
}

Deno.test("publish() reports to a progress of the four original methods and to per-blob calls", () =>
  withTempDir(async (dir) => {
    const src = path.join(dir, "src");
    const image = await makeOciLayout(src, { tag: "v1", layers: 3 });
    const store = new DirStore(path.join(dir, "store"));
    const total = image.blobs.reduce((n, d) => n + image.sizes[d], 0);

    const legacy = { started: [] as unknown[], bytes: 0, done: [] as string[], stopped: 0 };
    const old: PublishProgress = {
      start: (t) => legacy.started.push({ blobs: t.blobs, bytes: t.bytes }),
      advance: (n) => void (legacy.bytes += n),
      blobDone: (d) => void legacy.done.push(d),
      stop: () => void legacy.stopped++,
    };
    await publishWith(src, store, "v1", old);
    assert.deepEqual(legacy.started, [{ blobs: 4, bytes: total }]);
    assert.equal(legacy.bytes, total);
    assert.deepEqual(legacy.done.sort(), [...image.blobs].sort());
    assert.equal(legacy.stopped, 1);

    // A second image of other bytes: every blob copied, with per-blob calls.
    const src2 = path.join(dir, "src2");
    const image2 = await makeOciLayout(src2, { tag: "v1", layers: 2, seed: "other" });
    const events: string[] = [];
    const perBlob = new Map<string, number>();
    const full: PublishProgress = {
      start: (t) => events.push(`start ${t.items?.length}`),
      advance: () => {},
      blobStart: (d, size) => {
        events.push(`begin ${d}`);
        perBlob.set(d, 0);
        assert.equal(size, image2.sizes[d]);
      },
      blobAdvance: (d, n) => void perBlob.set(d, perBlob.get(d)! + n),
      blobDone: (d, copied) => void events.push(`${copied ? "copied" : "present"} ${d}`),
      stop: () => void events.push("stop"),
    };
    await publishWith(src2, store, "v2", full);
    assert.equal(events[0], "start 3");
    assert.equal(events.at(-1), "stop");
    for (const d of image2.blobs) {
      assert.ok(events.indexOf(`begin ${d}`) < events.indexOf(`copied ${d}`), d);
      assert.equal(perBlob.get(d), image2.sizes[d], `every byte of ${d} reported for it`);
    }
  }));
