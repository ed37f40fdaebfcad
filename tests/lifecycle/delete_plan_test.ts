/**
 * @module
 * planRemoval() / unreachable() (lib/layout/removal.ts) and expiredTags()
 * (lib/lifecycle/retention.ts) over hand-built tag indexes: exactly which tags, manifests
 * and blob entries go, what shared content stays, and which deletes are refused.
 */
import assert from "node:assert/strict";
import { applyRemoval, planRemoval, StillReferenced } from "../../lib/layout/removal.ts";
import { validateRepoIndex } from "../../lib/layout/rules.ts";
import type { ManifestEntry, RepoIndex } from "../../lib/layout/schema.ts";
import { expiredTags } from "../../lib/lifecycle/retention.ts";
import { tagTime, withTagTimes } from "../../lib/layout/tag_times.ts";

/** A readable fake digest: `d("idx")` → sha256:<hex of "idx" padded>. */
const d = (s: string) =>
  `sha256:${[...s].map((c) => c.charCodeAt(0).toString(16)).join("").padEnd(64, "0")}`;
const IMG = "application/vnd.oci.image.manifest.v1+json";
const IDX = "application/vnd.oci.image.index.v1+json";

/**
 * repo "app":
 *   1.0    → idx1 (index) → amd, arm          amd: [base, l-amd]  arm: [base, l-arm]
 *   2.0    → idx2 (index) → amd, arm2         (amd shared with idx1)
 *   solo   → solo                             [base, l-solo]; sig (subject solo)
 *   also   → solo (a second tag on it)
 *   untagged: pinned (imported by digest)     [l-pin]; pinsig (subject pinned)
 *   sig1 (subject idx1) [l-sig]; sigsig (subject sig1)
 */
function fixture(): RepoIndex {
  const img = (...blobs: string[]): ManifestEntry => ({
    mediaType: IMG,
    size: 500,
    blobs: blobs.map(d),
  });
  const manifests: Record<string, ManifestEntry> = {
    [d("idx1")]: { mediaType: IDX, size: 300, children: [d("amd"), d("arm")] },
    [d("idx2")]: { mediaType: IDX, size: 300, children: [d("amd"), d("arm2")] },
    [d("amd")]: img("base", "l-amd"),
    [d("arm")]: img("base", "l-arm"),
    [d("arm2")]: img("base", "l-arm2"),
    [d("solo")]: img("base", "l-solo"),
    [d("sig")]: { ...img("l-sig0"), subject: d("solo") },
    [d("pinned")]: img("l-pin"),
    [d("pinsig")]: { ...img("l-pinsig"), subject: d("pinned") },
    [d("sig1")]: { ...img("l-sig"), subject: d("idx1") },
    [d("sigsig")]: { ...img("l-sigsig"), subject: d("sig1") },
  };
  const blobs: Record<string, number> = {};
  for (const m of Object.values(manifests)) for (const b of m.blobs ?? []) blobs[b] = 10;
  return validateRepoIndex({
    version: 1,
    name: "app",
    tags: { "1.0": d("idx1"), "2.0": d("idx2"), solo: d("solo"), also: d("solo") },
    manifests,
    blobs,
  }, "app");
}

/** The readable names back from fake digests, sorted. */
const names = (digests: string[]) =>
  digests.map((x) => {
    let out = "";
    for (let i = 7; i < x.length && x.slice(i, i + 2) !== "00"; i += 2) {
      out += String.fromCharCode(parseInt(x.slice(i, i + 2), 16));
    }
    return out;
  }).sort();

Deno.test("planRemoval(): a tag on an index takes what only it reaches, keeps what 2.0 shares", () => {
  const r = planRemoval(fixture(), { tags: ["1.0"] });
  assert.deepEqual(r.tags, [{ tag: "1.0", digest: d("idx1") }]);
  // amd is a child of idx2 too; sig1 and its own referrer sigsig go with their subject.
  assert.deepEqual(names(r.manifests), ["arm", "idx1", "sig1", "sigsig"]);
  assert.deepEqual(names(r.blobs), ["l-arm", "l-sig", "l-sigsig"]); // base is shared
});

Deno.test("planRemoval(): one of two tags on a manifest removes only the tag", () => {
  const r = planRemoval(fixture(), { tags: ["also"] });
  assert.deepEqual(r.tags, [{ tag: "also", digest: d("solo") }]);
  assert.deepEqual(r.manifests, []);
  assert.deepEqual(r.blobs, []);
});

Deno.test("planRemoval(): a digest takes the tags on it and its referrers", () => {
  const r = planRemoval(fixture(), { digests: [d("solo")] });
  assert.deepEqual(r.tags.map((t) => t.tag), ["also", "solo"]);
  assert.deepEqual(names(r.manifests), ["sig", "solo"]);
  assert.deepEqual(names(r.blobs), ["l-sig0", "l-solo"]);
});

Deno.test("planRemoval(): a signature by digest goes, its subject stays", () => {
  const r = planRemoval(fixture(), { digests: [d("sig1")] });
  assert.deepEqual(r.tags, []);
  assert.deepEqual(names(r.manifests), ["sig1", "sigsig"]);
});

Deno.test("planRemoval(): an untagged image goes only when named", () => {
  assert.ok(
    !names(planRemoval(fixture(), { tags: ["solo", "also"] }).manifests).includes("pinned"),
  );
  const r = planRemoval(fixture(), { digests: [d("pinned")] });
  assert.deepEqual(names(r.manifests), ["pinned", "pinsig"]);
});

Deno.test("planRemoval(): a child of a tagged index is refused, naming every tag", () => {
  let err: unknown;
  try {
    planRemoval(fixture(), { digests: [d("amd")] });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof StillReferenced, String(err));
  assert.equal(err.digest, d("amd"));
  assert.deepEqual(err.tags, ["1.0", "2.0"]);
  assert.match(err.message, /app:1\.0 and app:2\.0 too$/);
  // Still refused with only one of the two tags going.
  assert.throws(() => planRemoval(fixture(), { digests: [d("amd")], tags: ["1.0"] }), /app:2\.0/);
  // Allowed once both go: the index roots go too, arm2 and arm with them.
  const r = planRemoval(fixture(), { digests: [d("amd")], tags: ["1.0", "2.0"] });
  assert.deepEqual(names(r.manifests), ["amd", "arm", "arm2", "idx1", "idx2", "sig1", "sigsig"]);
  assert.deepEqual(names(r.blobs), ["l-amd", "l-arm", "l-arm2", "l-sig", "l-sigsig"]);
});

Deno.test("applyRemoval(): the document left is valid and holds exactly the rest", () => {
  const index = fixture();
  index.tagged = withTagTimes(index, {
    "1.0": "2026-01-01T00:00:00.000Z",
    solo: "2026-01-02T00:00:00Z",
  });
  const after = applyRemoval(index, planRemoval(index, { tags: ["1.0", "solo", "also"] }));
  const again = validateRepoIndex(JSON.parse(JSON.stringify(after)), "app");
  assert.deepEqual(Object.keys(again.tags), ["2.0"]);
  assert.deepEqual(names(Object.keys(again.manifests)), [
    "amd",
    "arm2",
    "idx2",
    "pinned",
    "pinsig",
  ]);
  assert.deepEqual(names(Object.keys(again.blobs)), [
    "base",
    "l-amd",
    "l-arm2",
    "l-pin",
    "l-pinsig",
  ]);
  assert.deepEqual({ ...again.tagged }, {});
});

Deno.test("planRemoval(): everything named empties the repository", () => {
  const index = fixture();
  const r = planRemoval(index, {
    tags: Object.keys(index.tags),
    digests: [d("pinned")],
  });
  assert.equal(r.manifests.length, Object.keys(index.manifests).length);
  assert.equal(r.blobs.length, Object.keys(index.blobs).length);
});

/** An index with tags set at the given times (undefined: no time recorded). */
function timed(times: Record<string, string | undefined>): RepoIndex {
  const index = fixture();
  index.tags = Object.create(null);
  for (const tag of Object.keys(times)) index.tags[tag] = d("solo");
  const set: Record<string, string> = Object.create(null);
  for (const [tag, t] of Object.entries(times)) if (t) set[tag] = t;
  index.tagged = withTagTimes(index, set);
  return index;
}

const NOW = Date.parse("2026-12-01T12:00:00Z");

Deno.test("expiredTags(): each rule, their union, and untimed tags as the oldest", async (t) => {
  const index = timed({
    "v1.0": "2026-11-01T00:00:00Z",
    "v1.1": "2026-11-20T00:00:00Z",
    "v1.2": "2026-11-30T12:00:00Z",
    latest: "2026-12-01T11:00:00Z",
    legacy: undefined, // published before times were recorded
    stable: undefined,
  });
  const rows: [string, Parameters<typeof expiredTags>[1], string[]][] = [
    ["keep newest 2", { keepNewest: 2 }, ["legacy", "stable", "v1.0", "v1.1"]],
    ["keep newest 0", { keepNewest: 0 }, ["latest", "legacy", "stable", "v1.0", "v1.1", "v1.2"]],
    ["keep newest 5: one untimed goes, by name", { keepNewest: 5 }, ["stable"]],
    ["keep newest 99", { keepNewest: 99 }, []],
    ["keep tags ^v1\\.", { keepTags: /^v1\./ }, ["latest", "legacy", "stable"]],
    ["keep younger 61m", { keepYoungerMs: 61 * 60_000 }, [
      "legacy",
      "stable",
      "v1.0",
      "v1.1",
      "v1.2",
    ]],
    ["keep younger 2d", { keepYoungerMs: 48 * 3_600_000 }, ["legacy", "stable", "v1.0", "v1.1"]],
    ["keep younger 1h: exactly 1h old goes", { keepYoungerMs: 3_600_000 }, [
      "latest",
      "legacy",
      "stable",
      "v1.0",
      "v1.1",
      "v1.2",
    ]],
    ["union: newest 1, ^stable$, younger 15d", {
      keepNewest: 1,
      keepTags: /^stable$/,
      keepYoungerMs: 15 * 24 * 3_600_000,
    }, ["legacy", "v1.0"]],
  ];
  for (const [what, policy, want] of rows) {
    await t.step(what, () => assert.deepEqual(expiredTags(index, policy, NOW), want));
  }
  assert.throws(() => expiredTags(index, {}, NOW), /at least one keep rule/);
});

Deno.test("tagTime(): invalid times and times of tags no longer held count as none", () => {
  const index = timed({ a: "2026-11-01T00:00:00Z", b: "yesterday" });
  index.tagged!.gone = "2026-11-01T00:00:00Z";
  assert.equal(tagTime(index, "a"), Date.parse("2026-11-01T00:00:00Z"));
  assert.equal(tagTime(index, "b"), undefined);
  assert.equal(tagTime(index, "gone"), undefined);
  assert.equal(tagTime(index, "__proto__"), undefined);
});
