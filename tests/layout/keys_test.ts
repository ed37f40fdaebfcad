import assert from "node:assert/strict";
import { blobKey, repoIndexKey } from "../../lib/layout/keys.ts";
import { encodeDocument } from "../../lib/layout/documents.ts";
import { MARKER } from "../../lib/layout/schema.ts";

Deno.test("blobKey() is blobs/<alg>/<hex>, shared by every repository", () => {
  assert.equal(blobKey("sha256:" + "ab".repeat(32)), "blobs/sha256/" + "ab".repeat(32));
  assert.equal(blobKey("sha512:" + "0".repeat(128)), "blobs/sha512/" + "0".repeat(128));
});

Deno.test("blobKey() refuses anything that is not a digest (no path tricks)", () => {
  assert.throws(() => blobKey("sha256:../../etc/passwd"), { code: "DIGEST_INVALID" });
});

Deno.test("repoIndexKey() cannot collide with a nested repository", () => {
  assert.equal(repoIndexKey("a/b"), "repositories/a/b/_index.json");
  // A repository component can never be "_index.json" (components start with [a-z0-9]).
  assert.throws(() => repoIndexKey("a/_index.json"), { code: "NAME_INVALID" });
  assert.throws(() => repoIndexKey("a/../b"), { code: "NAME_INVALID" });
});

Deno.test("encodeDocument() writes JSON with a trailing newline", () => {
  assert.equal(
    new TextDecoder().decode(encodeDocument(MARKER)),
    '{"layout":"static-registry","version":2}\n',
  );
});
