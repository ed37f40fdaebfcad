/**
 * @module
 * referencedObjects() (lib/layout/walk.ts): tags → manifests → children, referrers,
 * configs and layers, each digest once; terminates on cyclic indexes.
 */
import assert from "node:assert/strict";
import { referencedObjects } from "../../lib/layout/walk.ts";
import { validateRepoIndex } from "../../lib/layout/rules.ts";
import type { RepoIndex } from "../../lib/layout/schema.ts";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const IMG = "application/vnd.oci.image.manifest.v1+json";
const IDX = "application/vnd.oci.image.index.v1+json";

/** v1 → index D(1) → images D(2), D(3); D(4) is a referrer of D(2); D(9) is untagged. */
function sample(): RepoIndex {
  return validateRepoIndex({
    version: 1,
    name: "demo/app",
    tags: { v1: D("1"), v2: D("3") },
    manifests: {
      [D("1")]: { mediaType: IDX, size: 100, children: [D("2"), D("3")] },
      [D("2")]: { mediaType: IMG, size: 200, blobs: [D("a"), D("b")] },
      [D("3")]: { mediaType: IMG, size: 300, blobs: [D("a"), D("c")] },
      [D("4")]: { mediaType: IMG, size: 400, subject: D("2"), blobs: [D("d")] },
      [D("9")]: { mediaType: IMG, size: 900, blobs: [D("e")] },
    },
    blobs: { [D("a")]: 1, [D("b")]: 2, [D("c")]: 3, [D("d")]: 4, [D("e")]: 5 },
  }, "demo/app");
}

Deno.test("referencedObjects() walks children, referrers, configs and layers, each once", () => {
  const objects = referencedObjects(sample());
  assert.deepEqual(
    objects.map((o) => [o.digest.slice(7, 8), o.kind, o.size, o.ref]),
    [
      ["1", "manifest", 100, "demo/app:v1"],
      ["2", "manifest", 200, "demo/app:v1"],
      ["a", "blob", 1, "demo/app:v1"],
      ["b", "blob", 2, "demo/app:v1"],
      ["4", "manifest", 400, "demo/app:v1"],
      ["d", "blob", 4, "demo/app:v1"],
      ["3", "manifest", 300, "demo/app:v1"],
      ["c", "blob", 3, "demo/app:v1"],
    ],
    "the untagged, unreferenced D(9) is not walked",
  );
});

Deno.test("referencedObjects() from chosen tags, with or without referrers", () => {
  const only = referencedObjects(sample(), { tags: ["v2"] });
  assert.deepEqual(only.map((o) => o.digest.slice(7, 8)), ["3", "a", "c"]);
  const noRef = referencedObjects(sample(), { referrers: false });
  assert.ok(!noRef.some((o) => o.digest === D("4")));
  assert.throws(() => referencedObjects(sample(), { tags: ["nope"] }), {
    message: 'repository "demo/app" has no tag "nope"',
  });
  assert.throws(() => referencedObjects(sample(), { tags: ["constructor"] }), /no tag/);
});

Deno.test("referencedObjects() terminates on a self-listing index and on referrer cycles", () => {
  const idx = validateRepoIndex({
    version: 1,
    name: "loop",
    tags: { v1: D("1") },
    manifests: {
      [D("1")]: { mediaType: IDX, size: 1, children: [D("1"), D("2")] },
      [D("2")]: { mediaType: IMG, size: 2, subject: D("3") },
      [D("3")]: { mediaType: IMG, size: 3, subject: D("2"), children: [D("1")] },
    },
    blobs: {},
  }, "loop");
  const objects = referencedObjects(idx);
  assert.deepEqual(objects.map((o) => o.digest).sort(), [D("1"), D("2"), D("3")]);
});

Deno.test("referencedObjects() names what the index lacks", () => {
  const idx = sample();
  delete idx.blobs[D("b")];
  assert.throws(() => referencedObjects(idx), {
    message: `repository "demo/app": blob ${D("b")} has no size in its index`,
  });
  const idx2 = sample();
  delete idx2.manifests[D("3")];
  assert.throws(() => referencedObjects(idx2, { tags: ["v1"] }), /manifest .* is not in its index/);
});
