/**
 * @module
 * Presigned origins: the URL's shape (offline), a real fetch of it from s3rver (which does
 * not check signatures, so it proves the path and bucket only), and from OpenStack Swift's
 * s3api, which does check SigV4 query signatures: signed → 200, tampered or unsigned → 403.
 */
import assert from "node:assert/strict";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { createOrigins } from "../../lib/origins/origins.ts";
import { blobKey, encodeDocument, MARKER, MARKER_KEY } from "../../lib/layout/layout.ts";
import { digestOf } from "../../lib/oci/digest.ts";
import { clientConfig } from "../../lib/store/s3.ts";
import { silentLogger } from "../../lib/log.ts";
import { startS3rver, type TestObjectStore } from "../helpers/s3rver.ts";
import { haveSwift, startSwift } from "../helpers/swift.ts";
import { fromConfig } from "./fake.ts";

const BLOB = new TextEncoder().encode("a private layer ".repeat(100));
const DIGEST = digestOf(BLOB);

/** S3 settings as a config file writes them (credentials flat). */
interface S3Doc {
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

function presigned(
  endpoint: string,
  store: string,
  s3: S3Doc,
  fetchFn?: typeof fetch,
  expires = 300_000,
) {
  const { endpoint: s3Endpoint, region, forcePathStyle, credentials } = s3;
  return createOrigins({
    ...fromConfig({
      store,
      s3: { endpoint: s3Endpoint, region, forcePathStyle, ...credentials },
      origins: [{
        name: "private",
        url: endpoint,
        presign: { expires: `${expires}ms` },
        verifyBlobs: true,
      }],
      health: { interval: "60s", timeout: "2s", rise: 1, fall: 1 },
    }),
    log: silentLogger,
    fetch: fetchFn,
  });
}

Deno.test("presigned origin: the redirect is a SigV4 query-signed URL for the blob's key (shape only)", async () => {
  const calls: string[] = [];
  const fake = (input: string | URL | Request, init?: RequestInit) => {
    calls.push(`${init?.method} ${input}`);
    if (String(input).includes(MARKER_KEY)) {
      return Promise.resolve(new Response(JSON.stringify(MARKER), { status: 200 }));
    }
    return Promise.resolve(new Response(null, { status: 200, headers: { "content-length": "7" } }));
  };
  const s3 = {
    endpoint: "http://s3.internal:9000",
    region: "eu-west-1",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
  };
  const o = presigned("https://s3.public.test", "s3://images/reg/v1", s3, fake as typeof fetch);
  await o.health.checkAll();
  const url = new URL(await o.locate(DIGEST, 7));
  assert.equal(url.origin, "https://s3.public.test", "signed for the host clients reach");
  assert.equal(url.pathname, `/images/reg/v1/${blobKey(DIGEST)}`);
  const q = url.searchParams;
  assert.equal(q.get("X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
  assert.equal(q.get("X-Amz-Expires"), "300");
  assert.match(q.get("X-Amz-Credential")!, /^AKIDEXAMPLE\/\d{8}\/eu-west-1\/s3\/aws4_request$/);
  assert.match(q.get("X-Amz-Signature")!, /^[0-9a-f]{64}$/);
  assert.equal(q.get("X-Amz-SignedHeaders"), "host");
  assert.ok(!url.search.includes("secret"));
  // The canary is read with a signed GET URL (it reads the marker's id), the
  // verification with a signed HEAD URL, neither with the blob's GET one.
  assert.match(
    calls[0],
    /^GET https:\/\/s3\.public\.test\/images\/reg\/v1\/static-registry\.json\?.*X-Amz-Signature=/,
  );
  assert.match(
    calls[1],
    new RegExp(`^HEAD https://s3\\.public\\.test/images/reg/v1/${blobKey(DIGEST)}\\?`),
  );
  assert.notEqual(
    new URL(calls[1].slice(5)).searchParams.get("X-Amz-Signature"),
    q.get("X-Amz-Signature"),
  );
});

async function upload(s: TestObjectStore, key: string, body: Uint8Array) {
  const client = new S3Client(clientConfig(s.options));
  try {
    await client.send(new PutObjectCommand({ Bucket: s.bucket, Key: key, Body: body }));
  } finally {
    client.destroy();
  }
}

Deno.test("presigned origin: the URL fetches the blob from s3rver (signature not checked there)", async () => {
  const s = await startS3rver("private");
  try {
    await upload(s, `reg/${MARKER_KEY}`, encodeDocument(MARKER));
    await upload(s, `reg/${blobKey(DIGEST)}`, BLOB);
    const o = presigned(`${s.endpoint}/private/reg`, "s3://private/reg", s.options);
    await o.start();
    assert.equal(o.readiness().ready, true, JSON.stringify(o.readiness()));
    const res = await fetch(await o.locate(DIGEST, BLOB.byteLength));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.bytes(), BLOB);
    o.stop();
  } finally {
    await s.stop();
  }
});

Deno.test({
  name:
    "presigned origin: Swift s3api accepts the signed URL and refuses a tampered or missing one",
  ignore: !(await haveSwift()),
  async fn() {
    const s = await startSwift("private");
    try {
      await upload(s, `reg/${MARKER_KEY}`, encodeDocument(MARKER));
      await upload(s, `reg/${blobKey(DIGEST)}`, BLOB);
      const o = presigned(s.endpoint, "s3://private/reg", s.options);
      await o.start();
      assert.equal(o.readiness().ready, true, JSON.stringify(o.readiness()));
      const signed = await o.locate(DIGEST, BLOB.byteLength);
      const res = await fetch(signed);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.bytes(), BLOB);

      const tampered = new URL(signed);
      const sig = tampered.searchParams.get("X-Amz-Signature")!;
      tampered.searchParams.set("X-Amz-Signature", (sig[0] === "0" ? "1" : "0") + sig.slice(1));
      const bad = await fetch(tampered);
      await bad.body?.cancel();
      assert.equal(bad.status, 403, "a wrong signature is refused");
      const unsigned = await fetch(signed.split("?")[0]);
      await unsigned.body?.cancel();
      // Swift answers an unsigned request on its S3 path with 400 (not an S3 request).
      assert.ok(unsigned.status >= 400 && unsigned.status < 500, `refused: ${unsigned.status}`);
      o.stop();

      // An expired URL is refused: sign for 1 s, wait past it.
      const short = presigned(s.endpoint, "s3://private/reg", s.options, undefined, 1000);
      await short.start();
      const soon = await short.locate(DIGEST, BLOB.byteLength);
      short.stop();
      assert.equal(new URL(soon).searchParams.get("X-Amz-Expires"), "1");
      await new Promise((r) => setTimeout(r, 2500));
      const expired = await fetch(soon);
      await expired.body?.cancel();
      assert.equal(expired.status, 403, "an expired URL is refused");
    } finally {
      await s.stop();
    }
  },
});
