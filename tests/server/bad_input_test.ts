/**
 * @module
 * createApp() with hostile or malformed input: every row is a 4xx with a spec error body,
 * never a 500 and never a byte from outside the store (a canary file sits next to it).
 */
import assert from "node:assert/strict";
import { serve } from "../../lib/runtime/runtime.ts";
import { makeFixture } from "./fixture.ts";
import { appFor, type Case, runCases } from "./harness.ts";

const HEX = "a".repeat(64);

Deno.test("createApp() answers bad input with 4xx spec errors", async (t) => {
  const f = await makeFixture();
  try {
    const { app } = await appFor(f.store);
    const d = f.layer.digest;
    const cases: Case[] = [
      // Path traversal: the URL parser resolves `..` and `%2e%2e` before we see the path;
      // what is left must be a 404, not a file.
      { description: "/v2/../canary.txt", url: "/v2/../canary.txt", status: 404 },
      {
        description: "/v2/%2e%2e/%2e%2e/canary.txt",
        url: "/v2/%2e%2e/%2e%2e/canary.txt",
        status: 404,
      },
      {
        description: "%2e%2e segments in a name",
        url: "/v2/%2e%2e/%2e%2e/canary.txt/manifests/latest",
        status: 404,
      },
      {
        description: "%2F in a name → NAME_INVALID",
        url: "/v2/library%2Falpine/manifests/latest",
        status: 400,
        wantCode: "NAME_INVALID",
      },
      {
        description: "%2F..%2F in a name → NAME_INVALID",
        url: "/v2/library%2F..%2F..%2Fcanary.txt/blobs/" + d,
        status: 400,
        wantCode: "NAME_INVALID",
      },
      {
        description: "%2e%2e inside a name segment → NAME_INVALID",
        url: "/v2/a%2e%2eb/tags/list",
        status: 400,
        wantCode: "NAME_INVALID",
      },
      {
        description: "encoded traversal in a tag → MANIFEST_UNKNOWN",
        url: "/v2/library/alpine/manifests/..%2F..%2F..%2Fcanary.txt",
        status: 404,
        wantCode: "MANIFEST_UNKNOWN",
      },
      {
        description: "encoded colon in a digest → DIGEST_INVALID",
        url: `/v2/library/alpine/blobs/sha256%3A${HEX}`,
        status: 400,
        wantCode: "DIGEST_INVALID",
      },
      {
        description: "backslashes are slashes to the URL parser",
        url: "/v2/..\\..\\canary.txt",
        status: 404,
      },
      {
        description: "uppercase name → NAME_INVALID",
        url: "/v2/Library/Alpine/manifests/latest",
        status: 400,
        wantCode: "NAME_INVALID",
      },
      {
        description: "empty name component → NAME_INVALID",
        url: "/v2/a//b/tags/list",
        status: 400,
        wantCode: "NAME_INVALID",
      },
      {
        description: "trailing separator → NAME_INVALID",
        url: "/v2/abc-/tags/list",
        status: 400,
        wantCode: "NAME_INVALID",
      },
      {
        description: "over-long name (300 characters) → NAME_INVALID",
        url: `/v2/${"a".repeat(300)}/manifests/latest`,
        status: 400,
        wantCode: "NAME_INVALID",
      },
      {
        description: "over-long many-component name → NAME_INVALID",
        url: `/v2/${"ab/".repeat(200)}c/blobs/${d}`,
        status: 400,
        wantCode: "NAME_INVALID",
      },
      {
        description: "tag starting with '-' → MANIFEST_UNKNOWN",
        url: "/v2/library/alpine/manifests/-x",
        status: 404,
        wantCode: "MANIFEST_UNKNOWN",
      },
      {
        description: "129-character tag → MANIFEST_UNKNOWN",
        url: `/v2/library/alpine/manifests/${"t".repeat(129)}`,
        status: 404,
        wantCode: "MANIFEST_UNKNOWN",
      },
      {
        description: "short sha256 → DIGEST_INVALID",
        url: `/v2/library/alpine/blobs/sha256:${"a".repeat(63)}`,
        status: 400,
        wantCode: "DIGEST_INVALID",
      },
      {
        description: "uppercase hex → DIGEST_INVALID",
        url: `/v2/library/alpine/blobs/sha256:${"A".repeat(64)}`,
        status: 400,
        wantCode: "DIGEST_INVALID",
      },
      {
        description: "md5 digest → DIGEST_INVALID",
        url: `/v2/library/alpine/manifests/md5:${"a".repeat(32)}`,
        status: 400,
        wantCode: "DIGEST_INVALID",
      },
      {
        description: "short sha512 → DIGEST_INVALID",
        url: `/v2/library/alpine/blobs/sha512:${HEX}`,
        status: 400,
        wantCode: "DIGEST_INVALID",
      },
      {
        description: "valid unknown sha512 → BLOB_UNKNOWN",
        url: `/v2/library/alpine/blobs/sha512:${HEX}${HEX}`,
        status: 404,
        wantCode: "BLOB_UNKNOWN",
      },
      {
        description: "n=-1 → PAGINATION_NUMBER_INVALID",
        url: "/v2/many/tags/list?n=-1",
        status: 400,
        wantCode: "PAGINATION_NUMBER_INVALID",
      },
      {
        description: "n=abc → PAGINATION_NUMBER_INVALID",
        url: "/v2/_catalog?n=abc",
        status: 400,
        wantCode: "PAGINATION_NUMBER_INVALID",
      },
      {
        description: "n=1.5 → PAGINATION_NUMBER_INVALID",
        url: "/v2/many/tags/list?n=1.5",
        status: 400,
        wantCode: "PAGINATION_NUMBER_INVALID",
      },
      {
        description: "n=1e3 → PAGINATION_NUMBER_INVALID",
        url: "/v2/many/tags/list?n=1e3",
        status: 400,
        wantCode: "PAGINATION_NUMBER_INVALID",
      },
      {
        description: "n= (empty) → PAGINATION_NUMBER_INVALID",
        url: "/v2/many/tags/list?n=",
        status: 400,
        wantCode: "PAGINATION_NUMBER_INVALID",
      },
      {
        description: "n=0x10 → PAGINATION_NUMBER_INVALID",
        url: "/v2/_catalog?n=0x10",
        status: 400,
        wantCode: "PAGINATION_NUMBER_INVALID",
      },
      {
        description: "absurd n is capped, not allocated",
        url: "/v2/many/tags/list?n=99999999999999999999999999",
        status: 200,
        wantBody: { name: "many", tags: f.manyTags },
        wantHeaders: { link: null },
      },
      {
        description: "n=0 → empty list, no Link",
        url: "/v2/many/tags/list?n=0",
        status: 200,
        wantBody: { name: "many", tags: [] },
        wantHeaders: { link: null },
      },
      ...["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"].flatMap((method): Case[] => [
        {
          description: `${method} on a manifest → 405 UNSUPPORTED`,
          method,
          url: "/v2/library/alpine/manifests/latest",
          status: 405,
          wantCode: "UNSUPPORTED",
          wantHeaders: { allow: "GET, HEAD" },
        },
        {
          description: `${method} on an upload → 405 UNSUPPORTED`,
          method,
          url: "/v2/library/alpine/blobs/uploads/",
          status: 405,
          wantCode: "UNSUPPORTED",
          wantHeaders: { allow: "GET, HEAD" },
        },
        {
          description: `${method} on /v2/ → 405`,
          method,
          url: "/v2/",
          status: 405,
          wantCode: "UNSUPPORTED",
          wantHeaders: { allow: "GET, HEAD" },
        },
        {
          description: `${method} on a bad name still → 405 (the method is checked first)`,
          method,
          url: "/v2/%2e%2e%2F/blobs/x",
          status: 405,
          wantCode: "UNSUPPORTED",
        },
      ]),
      {
        description: "DELETE blob → 405",
        method: "DELETE",
        url: `/v2/library/alpine/blobs/${d}`,
        status: 405,
        wantCode: "UNSUPPORTED",
      },
      {
        description: "PUT /v1/ → 405",
        method: "PUT",
        url: "/v1/repositories/x/images",
        status: 405,
        wantCode: "UNSUPPORTED",
      },
    ];
    await runCases(t, app, cases);
  } finally {
    await f.cleanup();
  }
});

Deno.test("createApp() never serves the canary beside the store, even over a raw socket", async () => {
  const f = await makeFixture();
  const { app } = await appFor(f.store);
  const server = await serve((req) => app.fetch(req), { hostname: "127.0.0.1", port: 0 });
  try {
    const paths = [
      "/v2/../canary.txt",
      "/v2/../../canary.txt",
      "/v2/%2e%2e/canary.txt",
      "/v2/library/alpine/blobs/../../../canary.txt",
      "/v2/library/alpine/blobs/..%2F..%2F..%2Fcanary.txt",
      "/v2/library/alpine/manifests/..%2F..%2F..%2Fcanary.txt",
      "/v2/..%2F..%2Fcanary.txt/tags/list",
      "/../canary.txt",
      "/canary.txt",
      "/store/../canary.txt",
    ];
    for (const p of paths) {
      // Write the request line by hand: fetch() would normalise the path first.
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await conn.write(
        new TextEncoder().encode(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
      );
      const chunks: Uint8Array[] = [];
      const buf = new Uint8Array(65536);
      for (let n; (n = await conn.read(buf)) !== null;) chunks.push(buf.slice(0, n));
      conn.close();
      const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
      const status = Number(text.split(" ")[1]);
      assert.ok(status >= 400 && status < 500, `${p}: ${text.slice(0, 200)}`);
      assert.ok(!text.includes("CANARY"), `${p} leaked the canary`);
    }
  } finally {
    await server.shutdown();
    await f.cleanup();
  }
});
