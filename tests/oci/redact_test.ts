/**
 * @module
 * redact(): user-info, presign and signed-URL query values, Authorization credentials.
 */
import assert from "node:assert/strict";
import { redact, redactDeep, redactUrl } from "../../lib/oci/redact.ts";

Deno.test("redact() hides secrets and keeps everything else", async (t) => {
  const rows: [string, string, string][] = [
    [
      "user and password",
      "GET http://user:s3cr3t@cdn.example/reg/x: HTTP 500",
      "GET http://***@cdn.example/reg/x: HTTP 500",
    ],
    ["user only", "https://tok3n@cdn/x", "https://***@cdn/x"],
    ["percent-encoded password", "https://u:p%40ss@h:8080/a", "https://***@h:8080/a"],
    ["upper-case scheme", "HTTPS://u:p@h/", "HTTPS://***@h/"],
    [
      "SigV4 presigned",
      "https://b.s3/x?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F2024&X-Amz-Signature=abcd&X-Amz-Security-Token=zz",
      "https://b.s3/x?X-Amz-Algorithm=AWS4&X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Security-Token=***",
    ],
    ["lower-case param", "u?x-amz-signature=ab", "u?x-amz-signature=***"],
    ["SAS and token", "https://a/b?sv=1&sig=Zm9v&token=t0k", "https://a/b?sv=1&sig=***&token=***"],
    [
      "CloudFront",
      "https://d/x?Policy=p&Signature=s&Key-Pair-Id=k",
      "https://d/x?Policy=***&Signature=***&Key-Pair-Id=***",
    ],
    ["in JSON", '{"url":"http://a:b@h/?sig=x"}', '{"url":"http://***@h/?sig=***"}'],
    [
      "Authorization",
      'headers {"Authorization":"Basic dTpwYXNz"}',
      'headers {"Authorization":"Basic ***"}',
    ],
    ["Bearer", "authorization: Bearer eyJabc.def", "authorization: Bearer ***"],
    [
      "digest reference is not user-info",
      "https://h/v2/alpine@sha256:ab",
      "https://h/v2/alpine@sha256:ab",
    ],
    ["docker reference untouched", "docker://alpine@sha256:ab", "docker://alpine@sha256:ab"],
    [
      "plain text untouched",
      'store /srv/data: reading "catalog.json"',
      'store /srv/data: reading "catalog.json"',
    ],
    [
      "other params untouched",
      "https://h/x?versionId=3&signed=1",
      "https://h/x?versionId=3&signed=1",
    ],
  ];
  for (const [what, input, want] of rows) {
    await t.step(what, () => {
      assert.equal(redact(input), want);
      assert.equal(redact(redact(input)), want, "idempotent");
    });
  }
});

Deno.test("redactUrl() takes a URL object", () => {
  assert.equal(redactUrl(new URL("http://user:s3cr3t@h/reg/")), "http://***@h/reg/");
});

Deno.test("redactDeep() redacts every string of a report, keys included", () => {
  const out = redactDeep({
    ok: false,
    n: 3,
    list: [{ reason: "HEAD http://u:s3cr3t@h/x: HTTP 403" }, null],
    ["http://u:s3cr3t@h/"]: true,
  });
  assert.ok(!JSON.stringify(out).includes("s3cr3t"), JSON.stringify(out));
  assert.equal(out.n, 3);
  assert.equal(out.list[0]!.reason, "HEAD http://***@h/x: HTTP 403");
});
