import assert from "node:assert/strict";
import fc from "fast-check";
import {
  assertName,
  isName,
  isTag,
  NAME_RE,
  nameProblem,
  parseReference,
  splitRepoTag,
} from "../../lib/oci/reference.ts";
import { OciError } from "../../lib/oci/errors.ts";

const HEX = "a".repeat(64);

Deno.test("isName() accepts the distribution-spec name grammar", () => {
  for (
    const name of [
      "a",
      "library/ubuntu",
      "a/b/c/d",
      "my-repo",
      "my--repo",
      "my_repo",
      "my__repo",
      "my.repo",
      "0abc/9xyz",
      "a" + "b".repeat(254),
    ]
  ) assert.equal(isName(name), true, name);
});

Deno.test("isName() rejects uppercase, traversal, separators at the edges and long names", () => {
  for (
    const name of [
      "",
      "Library/ubuntu",
      "..",
      "a/../b",
      "a/./b",
      "./a",
      "/a",
      "a/",
      "a//b",
      "-a",
      "a-",
      "a___b",
      "a..b",
      "a%2fb",
      "a b",
      "a\u0000b",
      "a" + "b".repeat(255),
    ]
  ) assert.equal(isName(name), false, JSON.stringify(name));
});

Deno.test("nameProblem() says why a name is refused", () => {
  assert.equal(nameProblem(""), "empty");
  assert.match(nameProblem("x".repeat(300))!, /longer than 255/);
  // In words, not the grammar's regex (issue 9, defect 16).
  const table: [string, string][] = [
    ["A", "must be lowercase"],
    ["library/Alpine", "must be lowercase"],
    ["a b", `may contain only a-z, 0-9, ".", "_", "-" and "/", not " "`],
    ["a@b", `may contain only a-z, 0-9, ".", "_", "-" and "/", not "@"`],
    ["é", `may contain only a-z, 0-9, ".", "_", "-" and "/", not "é"`],
    ["/a", 'components separated by "/" must not be empty'],
    ["a//b", 'components separated by "/" must not be empty'],
    ["a/", 'components separated by "/" must not be empty'],
    ["../etc", 'each component must start and end with a letter or digit, got ".."'],
    ["a/-b", 'each component must start and end with a letter or digit, got "-b"'],
    ["a_", 'each component must start and end with a letter or digit, got "a_"'],
    ["a..b", `letters and digits are joined by one ".", one "_", "__" or "-"s, got ".." in "a..b"`],
    ["a___b", `letters and digits are joined by one ".", one "_", "__" or "-"s, got "___" in`],
    ["a._b", `letters and digits are joined by one ".", one "_", "__" or "-"s, got "._" in`],
  ];
  for (const [name, want] of table) {
    const got = nameProblem(name);
    assert.ok(got?.startsWith(want), `${JSON.stringify(name)}: ${got}`);
  }
  for (const ok of ["a", "a--b", "a__b", "a.b_c-d/e0", "library/alpine"]) {
    assert.equal(nameProblem(ok), null, ok);
  }
});

Deno.test("assertName() throws NAME_INVALID with the name in the detail", () => {
  assert.throws(() => assertName("UPPER"), (e: unknown) => {
    assert.ok(e instanceof OciError);
    assert.equal(e.code, "NAME_INVALID");
    assert.equal(e.status, 400);
    assert.deepEqual(e.detail, { name: "UPPER" });
    return true;
  });
});

Deno.test("isTag() follows [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}", () => {
  for (const tag of ["latest", "v1.0.0", "_x", "A-b.C_d", "a".repeat(128)]) {
    assert.equal(isTag(tag), true, tag);
  }
  for (const tag of ["", ".x", "-x", "a".repeat(129), "a/b", "a:b", "a b", "ä"]) {
    assert.equal(isTag(tag), false, tag);
  }
});

Deno.test("parseReference() tells tags from digests", () => {
  assert.deepEqual(parseReference("latest"), { kind: "tag", tag: "latest" });
  assert.deepEqual(parseReference(`sha256:${HEX}`), {
    kind: "digest",
    digest: `sha256:${HEX}`,
  });
});

Deno.test("parseReference() rejects bad digests with DIGEST_INVALID and bad tags with MANIFEST_UNKNOWN", () => {
  assert.throws(() => parseReference("sha256:abc"), { code: "DIGEST_INVALID" });
  assert.throws(() => parseReference("md5:" + "a".repeat(32)), { code: "DIGEST_INVALID" });
  assert.throws(() => parseReference(".hidden"), { code: "MANIFEST_UNKNOWN" });
});

Deno.test("splitRepoTag() splits repo, tag and digest, keeping registry ports in the name", () => {
  assert.deepEqual(splitRepoTag("demo/hello"), { name: "demo/hello" });
  assert.deepEqual(splitRepoTag("demo/hello:v1"), { name: "demo/hello", tag: "v1" });
  assert.deepEqual(splitRepoTag("host:5000/demo"), { name: "host:5000/demo" });
  assert.deepEqual(splitRepoTag(`a@sha256:${HEX}`), { name: "a", digest: `sha256:${HEX}` });
});

Deno.test("nameProblem() finds a reason in words for every name the grammar refuses", () => {
  const unit = fc.constantFrom(..."abz09._-/A@ ");
  fc.assert(
    fc.property(fc.string({ unit, minLength: 1, maxLength: 12 }), (name) => {
      const why = nameProblem(name);
      assert.equal(why === null, NAME_RE.test(name), name);
      if (why) assert.doesNotMatch(why, /must match/, name);
    }),
    { numRuns: 3000 },
  );
});
