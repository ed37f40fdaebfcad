/**
 * @module
 * lib/sources/referrers.ts (tag names, Link paging, API vs tag-schema discovery, referrers
 * of referrers, bounds), collectImage's use of `Source.attached` (stale tag-schema entries
 * dropped, cosign tags returned), and the export helpers (lib/bundle/attached.ts,
 * mergeIndex's unnamed entries). No sockets: the registry is a table of answers.
 */
import assert from "node:assert/strict";
import type { Descriptor } from "../../lib/oci/mediatypes.ts";
import { OCI_MANIFEST } from "../../lib/oci/mediatypes.ts";
import {
  type AttachedLookup,
  cosignTags,
  findAttached,
  MAX_REFERRERS,
  nextLink,
  type ReferrersAnswer,
  referrersTag,
} from "../../lib/sources/referrers.ts";
import { collectImage } from "../../lib/publish/collect.ts";
import { referrerEntries, withCosignTags } from "../../lib/bundle/attached.ts";
import { mergeIndex } from "../../lib/bundle/sinks.ts";
import { emptyRepoIndex } from "../../lib/layout/schema.ts";
import { referencedObjects } from "../../lib/layout/walk.ts";
import { MemorySource } from "../layout/memory_source.ts";

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const desc = (c: string): Descriptor => ({ mediaType: OCI_MANIFEST, digest: d(c), size: 10 });

Deno.test("referrersTag() and cosignTags() name the tags of a digest", () => {
  assert.equal(referrersTag(d("a")), `sha256-${"a".repeat(64)}`);
  assert.deepEqual(
    cosignTags(d("a")),
    [".sig", ".att", ".sbom"].map((s) => `sha256-${"a".repeat(64)}${s}`),
  );
  const sha512 = `sha512:${"b".repeat(128)}`;
  assert.equal(referrersTag(sha512), `sha512-${"b".repeat(64)}`, "truncated to 64 (spec)");
  assert.deepEqual(cosignTags(sha512), [], "longer than a tag may be: none");
});

Deno.test("nextLink() reads rel=next from a Link header, relative to the request", () => {
  const base = "http://r:5000/v2/a/referrers/sha256:x";
  const table: [string | null, string | undefined][] = [
    [null, undefined],
    ["", undefined],
    [
      '</v2/a/referrers/sha256:x?n=2&last=y>; rel="next"',
      "http://r:5000/v2/a/referrers/sha256:x?n=2&last=y",
    ],
    ['<http://o/p>; rel="prev", <http://o/q>; rel=next', "http://o/q"],
    ['<http://o/p>; rel="prev"', undefined],
  ];
  for (const [link, want] of table) assert.equal(nextLink(link, base), want, String(link));
});

/** A registry as a table: referrers pages by digest (or absent: no API) and tags. */
function lookup(o: {
  api?: Record<string, Descriptor[][]>;
  tags?: Record<string, Descriptor[]>;
  calls?: string[];
}): AttachedLookup {
  return {
    referrers(digest, next): Promise<ReferrersAnswer> {
      o.calls?.push(`referrers ${digest}${next ? " " + next : ""}`);
      if (!o.api) return Promise.resolve({ kind: "none" });
      const pages = o.api[digest] ?? [[]];
      const i = next ? Number(next) : 0;
      return Promise.resolve({
        kind: "api",
        manifests: pages[i],
        next: i + 1 < pages.length ? String(i + 1) : undefined,
      });
    },
    taggedManifest(tag) {
      o.calls?.push(`tag ${tag}`);
      const children = o.tags?.[tag];
      return Promise.resolve(
        children ? { descriptor: { ...desc("f"), digest: d("f") }, children } : null,
      );
    },
  };
}

Deno.test("findAttached() follows every page of the referrers API, and referrers of referrers", async () => {
  const calls: string[] = [];
  const found = await findAttached(
    [d("1")],
    lookup({
      api: { [d("1")]: [[desc("a")], [desc("b")]], [d("a")]: [[desc("c")]] },
      tags: { [`sha256-${"1".repeat(64)}.sig`]: [] },
      calls,
    }),
  );
  assert.deepEqual(found.referrers.map((r) => r.digest), [d("a"), d("b"), d("c")]);
  assert.equal(found.api, true);
  assert.deepEqual([...found.tags.keys()], [`sha256-${"1".repeat(64)}.sig`]);
  assert.ok(!calls.some((c) => c === `tag sha256-${"1".repeat(64)}`), "no tag schema with an API");
});

Deno.test("findAttached() reads the referrers tag schema when the registry has no API", async () => {
  const calls: string[] = [];
  const found = await findAttached(
    [d("1"), d("2")],
    lookup({
      tags: { [referrersTag(d("2"))]: [desc("a")] },
      calls,
    }),
  );
  assert.deepEqual(found.referrers.map((r) => r.digest), [d("a")]);
  assert.equal(found.api, false);
  assert.equal(calls.filter((c) => c.startsWith("referrers")).length, 1, "API asked once only");
  assert.equal(found.tags.size, 0);
});

Deno.test("findAttached() refuses more than MAX_REFERRERS referrers", async () => {
  const many = Array.from({ length: MAX_REFERRERS + 1 }, (_, i) => ({
    ...desc("a"),
    digest: `sha256:${i.toString(16).padStart(64, "0")}`,
  }));
  await assert.rejects(
    findAttached([d("1")], lookup({ api: { [d("1")]: [many] } })),
    new RegExp(`more than ${MAX_REFERRERS} referrers`),
  );
});

/** A MemorySource that answers `attached()` with what `found` says. */
function attachedSource(
  build: (s: MemorySource) => { referrers: Descriptor[]; tags: Record<string, Descriptor> },
) {
  const s = new MemorySource();
  const found = build(s);
  return Object.assign(s, {
    attached: () =>
      Promise.resolve({
        referrers: found.referrers,
        tags: new Map(Object.entries(found.tags)),
        api: false,
      }),
  });
}

Deno.test("collectImage() takes attached referrers of the image and cosign tags, drops stale ones", async () => {
  let ids: Record<string, string> = {};
  const source = attachedSource((s) => {
    s.root = s.image("root");
    const sig = s.image("sig", { subject: s.root });
    const stale = s.image("stale", { subject: desc("9") }); // a tag-schema index listing another image's
    const cosign = s.image("cosign-sig");
    ids = { root: s.root.digest, sig: sig.digest, stale: stale.digest, cosign: cosign.digest };
    return { referrers: [sig, stale], tags: { [`sha256-x.sig`]: cosign } };
  });
  const image = await collectImage(source);
  const got = image.manifests.map((m) => m.descriptor.digest);
  assert.deepEqual(got, [ids.root, ids.sig, ids.cosign]);
  assert.deepEqual([...image.tags], [["sha256-x.sig", ids.cosign]]);
  const bare = await collectImage(source, { signatures: false });
  assert.deepEqual(bare.manifests.map((m) => m.descriptor.digest), [ids.root]);
  assert.equal(bare.tags.size, 0);
});

Deno.test("withCosignTags() adds the cosign tags of reached manifests; referrerEntries() lists referrers once", () => {
  const idx = emptyRepoIndex("a");
  const [root, child, sig, ref] = [d("1"), d("2"), d("3"), d("4")];
  idx.manifests[root] = {
    mediaType: "application/vnd.oci.image.index.v1+json",
    size: 1,
    children: [child],
  };
  idx.manifests[child] = { mediaType: OCI_MANIFEST, size: 2 };
  idx.manifests[sig] = { mediaType: OCI_MANIFEST, size: 3 };
  idx.manifests[ref] = { mediaType: OCI_MANIFEST, size: 4, subject: child, artifactType: "x/y" };
  idx.tags.v1 = root;
  idx.tags[cosignTags(child)[0]] = sig;
  idx.tags.other = sig;
  const tags = withCosignTags(idx, ["v1"], referencedObjects(idx, { tags: ["v1"] }));
  assert.deepEqual(tags, ["v1", cosignTags(child)[0]]);
  const seen = new Set<string>();
  const reached = referencedObjects(idx, { tags });
  assert.deepEqual(referrerEntries(idx, reached, seen), [
    { mediaType: OCI_MANIFEST, digest: ref, size: 4, artifactType: "x/y" },
  ]);
  assert.deepEqual(referrerEntries(idx, reached, seen), [], "a digest is listed once");
});

Deno.test("mergeIndex() replaces an existing unnamed entry of the same digest, keeps others", () => {
  const existing = {
    manifests: [
      { mediaType: OCI_MANIFEST, digest: d("4"), size: 4 },
      { mediaType: OCI_MANIFEST, digest: d("5"), size: 5 },
      {
        mediaType: OCI_MANIFEST,
        digest: d("4"),
        size: 4,
        annotations: { "org.opencontainers.image.ref.name": "t" },
      },
    ],
  };
  const { index, outcome } = mergeIndex(existing, [{
    mediaType: OCI_MANIFEST,
    digest: d("4"),
    size: 4,
  }]);
  assert.deepEqual(outcome, { kept: 2, replaced: 1 });
  assert.equal((index.manifests as unknown[]).length, 3);
});
