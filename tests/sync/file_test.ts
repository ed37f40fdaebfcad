/**
 * @module
 * parseSyncFile(): both forms, and every refusal naming the file, the line and the field.
 */
import assert from "node:assert/strict";
import { parseSyncFile } from "../../lib/sync/file.ts";
import { UsageError } from "../../lib/cli/usage.ts";

const H = "127.0.0.1:5000";

Deno.test("parseSyncFile() reads lines: comments, blanks, targets, tag/digest/all tags", () => {
  const digest = `sha256:${"a".repeat(64)}`;
  const f = parseSyncFile(
    `# mirror list

docker://${H}/team/app:v1   # one tag
docker://${H}/team/app mirror/app
docker://${H}/team/pinned@${digest}
docker://busybox:1.36
`,
    "list.txt",
  );
  assert.deepEqual(
    f.images.map((i) => [i.where, i.target, i.pinned, i.ref.tag ?? i.ref.digest]),
    [
      ["line 3", "team/app", true, "v1"],
      ["line 4", "mirror/app", false, "latest"],
      ["line 5", "team/pinned", true, digest],
      ["line 6", "library/busybox", true, "1.36"],
    ],
  );
  assert.equal(f.images[3].ref.host, "docker.io");
  assert.equal(f.rate, undefined);
});

Deno.test("parseSyncFile() reads a YAML document (and JSON) with filters and platforms", () => {
  const f = parseSyncFile(
    `rate: 600/m
concurrency: 2
images:
  - source: docker://${H}/team/app
    target: mirror/app
    tags: { regex: "^v1\\\\.", semver: ">=1.2 <2", newest: 3 }
    platforms: [linux/amd64, linux/arm64/v8]
    signatures: true
  - source: docker://${H}/team/other:v2
    platforms: all
`,
    "sync.yaml",
  );
  assert.equal(f.rate, 10);
  assert.equal(f.concurrency, 2);
  const [a, b] = f.images;
  assert.equal(a.where, "images[0] (line 4)");
  assert.equal(a.target, "mirror/app");
  assert.equal(a.tags?.regex?.source, "^v1\\.");
  assert.equal(a.tags?.semver, ">=1.2 <2");
  assert.equal(a.tags?.newest, 3);
  assert.deepEqual(a.platforms, [
    { os: "linux", architecture: "amd64" },
    { os: "linux", architecture: "arm64", variant: "v8" },
  ]);
  assert.equal(a.signatures, true);
  assert.equal(b.platforms, undefined);
  assert.equal(b.signatures, false);
  const j = parseSyncFile(JSON.stringify({ images: [{ source: `docker://${H}/x:1` }] }), "s.json");
  assert.equal(j.images[0].target, "x");
});

Deno.test("parseSyncFile() refuses bad input naming the line and the field", () => {
  const cases: [string, RegExp][] = [
    [`docker://${H}/a:v1\ndocker://${H}/b c d\n`, /"f": line 2: expected .* got 3 words/],
    [`docker://${H}/a:v1\ndocker://${H}/B:v1\n`, /"f": line 2: .*repository "B"/],
    [`docker://${H}/a:v1 Bad/Target\n`, /"f": line 1: target "Bad\/Target"/],
    ["", /no images in it/],
    [
      `images:\n  - source: docker://${H}/a\n    tags: { newest: 0 }\n`,
      /line 3: images\[0\]\.tags\.newest: must be at least 1, got 0/,
    ],
    [
      `images:\n  - source: docker://${H}/a\n    tagz: {}\n`,
      /line 3: images\[0\]: unknown key "tagz" \(did you mean "tags"\?\)/,
    ],
    [
      `images:\n  - source: docker://${H}/a\n  - source: http://x/y\n`,
      /line 3: images\[1\]\.source: expected a reference like "docker:\/\/HOST/,
    ],
    [
      `images:\n  - source: docker://${H}/a\n    platforms: [linux]\n`,
      /line 3: images\[0\]\.platforms.*expected/,
    ],
    [
      `images:\n  - source: docker://${H}/a\n    tags: { regex: "(" }\n`,
      /images\[0\] \(line 2\): tags\.regex: Invalid regular expression/,
    ],
    [
      `images:\n  - source: docker://${H}/a\n    tags: { semver: "not a range!" }\n`,
      /images\[0\] \(line 2\): tags\.semver: "not a range!"/,
    ],
    [
      `images:\n  - source: docker://${H}/a:v1\n    tags: { newest: 1 }\n`,
      /tags: filters need a source without a tag/,
    ],
    [`rate: fast\nimages: []\n`, /line 1: rate: expected a rate like "10\/s"/],
    [`images:\n  - source: docker://${H}/a\n  bad: [\n`, /"f": line \d+: /],
    [`images: []\n`, /images: the list is empty/],
    [`images:\n  - {}\n`, /line 2: images\[0\]\.source: is required/],
  ];
  for (const [text, want] of cases) {
    assert.throws(
      () => parseSyncFile(text, "f"),
      (e: Error) =>
        e instanceof UsageError && want.test(e.message) || assert.fail(`${e.message} !~ ${want}`),
      text,
    );
  }
});
