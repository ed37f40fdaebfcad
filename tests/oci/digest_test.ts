import assert from "node:assert/strict";
import { digestOf, digestProblem, DigestVerifier, parseDigest } from "../../lib/oci/digest.ts";

const EMPTY_SHA256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

Deno.test("digestOf() computes sha256 and sha512", () => {
  assert.equal(digestOf(new Uint8Array()), EMPTY_SHA256);
  assert.match(digestOf("x", "sha512"), /^sha512:[0-9a-f]{128}$/);
});

Deno.test("parseDigest() accepts sha256 and sha512 with the exact hex length", () => {
  assert.deepEqual(parseDigest(EMPTY_SHA256).algorithm, "sha256");
  assert.equal(parseDigest("sha512:" + "0".repeat(128)).hex, "0".repeat(128));
});

Deno.test("digestProblem() names what is wrong", () => {
  assert.match(digestProblem("sha256")!, /algorithm:hex/);
  assert.match(digestProblem("sha1:" + "0".repeat(40))!, /unsupported algorithm "sha1"/);
  assert.match(digestProblem("sha256:" + "0".repeat(63))!, /64 lowercase hex/);
  assert.match(digestProblem("sha256:" + "A".repeat(64))!, /64 lowercase hex/);
  assert.match(digestProblem("sha256:../../etc/passwd")!, /algorithm:hex/);
  assert.equal(digestProblem(EMPTY_SHA256), null);
});

Deno.test("DigestVerifier.check() passes on matching content and size", () => {
  const bytes = new TextEncoder().encode("hello");
  const v = new DigestVerifier(digestOf(bytes), 5);
  v.update(bytes.subarray(0, 2));
  v.update(bytes.subarray(2));
  v.check("layer");
});

Deno.test("DigestVerifier.check() names the blob on a digest mismatch", () => {
  const v = new DigestVerifier(EMPTY_SHA256, 1);
  v.update(new Uint8Array([1]));
  assert.throws(() => v.check("layer 1"), /layer 1 sha256:e3b0.*content digest is sha256:/);
});

Deno.test("DigestVerifier.check() names the blob on a size mismatch", () => {
  const v = new DigestVerifier(EMPTY_SHA256, 10);
  assert.throws(
    () => v.check("config"),
    /config sha256:e3b0.*size 0 does not match descriptor size 10/,
  );
});
