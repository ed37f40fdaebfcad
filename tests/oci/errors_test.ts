import assert from "node:assert/strict";
import { ERROR_CODES, errors, OciError } from "../../lib/oci/errors.ts";

Deno.test("OciError.toJSON() renders the distribution-spec error body", () => {
  const e = errors.blobUnknown("sha256:" + "0".repeat(64));
  assert.equal(e.status, 404);
  assert.deepEqual(e.toJSON(), {
    errors: [{
      code: "BLOB_UNKNOWN",
      message: "blob unknown to registry",
      detail: { digest: "sha256:" + "0".repeat(64) },
    }],
  });
});

Deno.test("OciError omits detail when there is none and keeps cause", () => {
  const cause = new Error("disk");
  const e = new OciError("INTERNAL", "boom", undefined, { cause });
  assert.deepEqual(e.toJSON(), { errors: [{ code: "INTERNAL", message: "boom" }] });
  assert.equal(e.cause, cause);
  assert.equal(e.name, "OciError");
});

Deno.test("every spec error code maps to a 4xx/5xx status", () => {
  for (const [code, status] of Object.entries(ERROR_CODES)) {
    assert.ok(status >= 400 && status < 600, code);
  }
  assert.equal(errors.unsupported("PUT").status, 405);
});
