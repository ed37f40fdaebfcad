/**
 * @module
 * Blob GET in its three modes: 307 to an origin, streaming from a directory store with
 * Range (206/416), and 404 from a store that cannot stream without origins.
 */
import assert from "node:assert/strict";
import { OciError } from "../../lib/oci/errors.ts";
import type { ReadStore } from "../../lib/store/store.ts";
import { makeFixture } from "./fixture.ts";
import { appFor, type Case, FakeOrigins, memoryLogger, runCases } from "./harness.ts";

Deno.test("blobs: Range requests on a streaming store", async (t) => {
  const f = await makeFixture();
  try {
    const { app } = await appFor(f.store);
    const url = `/v2/library/alpine/blobs/${f.layer.digest}`;
    const b = f.layer.bytes; // 1000 bytes
    const cases: Case[] = [
      {
        description: "bytes=0-99 → 206",
        url,
        headers: { Range: "bytes=0-99" },
        status: 206,
        wantBody: b.slice(0, 100),
        wantHeaders: { "content-range": "bytes 0-99/1000", "content-length": "100" },
      },
      {
        description: "bytes=990- → the tail",
        url,
        headers: { Range: "bytes=990-" },
        status: 206,
        wantBody: b.slice(990),
        wantHeaders: { "content-range": "bytes 990-999/1000", "content-length": "10" },
      },
      {
        description: "bytes=-5 → the last 5",
        url,
        headers: { Range: "bytes=-5" },
        status: 206,
        wantBody: b.slice(995),
        wantHeaders: { "content-range": "bytes 995-999/1000" },
      },
      {
        description: "bytes=-5000 → the whole blob as a range",
        url,
        headers: { Range: "bytes=-5000" },
        status: 206,
        wantBody: b,
        wantHeaders: { "content-range": "bytes 0-999/1000" },
      },
      {
        description: "end past the size is clamped",
        url,
        headers: { Range: "bytes=500-5000" },
        status: 206,
        wantBody: b.slice(500),
        wantHeaders: { "content-range": "bytes 500-999/1000" },
      },
      {
        description: "start past the end → 416",
        url,
        headers: { Range: "bytes=1000-" },
        status: 416,
        wantCode: "RANGE_INVALID",
        wantHeaders: { "content-range": "bytes */1000" },
      },
      {
        description: "bytes=-0 → 416",
        url,
        headers: { Range: "bytes=-0" },
        status: 416,
        wantCode: "RANGE_INVALID",
      },
      {
        description: "multiple ranges are ignored → 200",
        url,
        headers: { Range: "bytes=0-1,5-6" },
        status: 200,
        wantBody: b,
      },
      {
        description: "a reversed range is ignored → 200",
        url,
        headers: { Range: "bytes=9-3" },
        status: 200,
        wantBody: b,
      },
      {
        description: "another unit is ignored → 200",
        url,
        headers: { Range: "items=0-3" },
        status: 200,
        wantBody: b,
      },
      // RFC 9110 §13.1.5: Range applies only when If-Range matches the strong ETag.
      {
        description: "If-Range = the ETag → 206",
        url,
        headers: { Range: "bytes=0-99", "If-Range": `"${f.layer.digest}"` },
        status: 206,
        wantBody: b.slice(0, 100),
        wantHeaders: { "content-range": "bytes 0-99/1000", etag: `"${f.layer.digest}"` },
      },
      {
        description: "If-Range another ETag → 200, whole blob",
        url,
        headers: { Range: "bytes=0-99", "If-Range": '"sha256:0000"' },
        status: 200,
        wantBody: b,
        wantHeaders: { "content-range": null, "content-length": "1000" },
      },
      {
        description: "If-Range a weak ETag of the same digest → 200 (weak never matches)",
        url,
        headers: { Range: "bytes=0-99", "If-Range": `W/"${f.layer.digest}"` },
        status: 200,
        wantBody: b,
      },
      {
        description: "If-Range a date (no Last-Modified is sent) → 200",
        url,
        headers: { Range: "bytes=0-99", "If-Range": "Tue, 01 Dec 2026 20:53:43 GMT" },
        status: 200,
        wantBody: b,
      },
      {
        description: "If-Range unquoted digest → 200",
        url,
        headers: { Range: "bytes=0-99", "If-Range": f.layer.digest },
        status: 200,
        wantBody: b,
      },
      {
        description: "If-Range not matching + unsatisfiable Range → 200, not 416",
        url,
        headers: { Range: "bytes=5000-", "If-Range": '"x"' },
        status: 200,
        wantBody: b,
      },
      {
        description: "If-Range without Range → 200",
        url,
        headers: { "If-Range": `"${f.layer.digest}"` },
        status: 200,
        wantBody: b,
      },
    ];
    await runCases(t, app, cases);
  } finally {
    await f.cleanup();
  }
});

Deno.test("blobs: with origins, GET is a 307 to the located URL and HEAD stays local", async (t) => {
  const f = await makeFixture();
  try {
    const origins = new FakeOrigins();
    const { log, lines } = memoryLogger();
    const { app } = await appFor(f.store, { origins, log });
    const url = `/v2/library/alpine/blobs/${f.layer.digest}`;
    await runCases(t, app, [
      {
        description: "GET → 307 Location",
        url,
        status: 307,
        wantHeaders: {
          location: `http://cdn-a.test/registry/blobs/sha256/${f.layer.digest.slice(7)}`,
          "docker-content-digest": f.layer.digest,
        },
      },
      {
        description: "HEAD → 200 locally",
        method: "HEAD",
        url,
        status: 200,
        wantHeaders: { "content-length": "1000" },
      },
      {
        description: "a blob the repository does not reference is not redirected",
        url: `/v2/library/alpine/blobs/${f.otherLayer.digest}`,
        status: 404,
        wantCode: "BLOB_UNKNOWN",
      },
    ]);
    assert.deepEqual(
      origins.calls,
      [[f.layer.digest, 1000]],
      "locate() got the digest and the index size",
    );

    origins.sync = true;
    await runCases(t, app, [
      {
        description: "a synchronous locate() gives the same 307",
        url,
        status: 307,
        wantHeaders: {
          location: `http://cdn-a.test/registry/blobs/sha256/${f.layer.digest.slice(7)}`,
        },
      },
    ]);
    origins.fail = new OciError("UNAVAILABLE", "no healthy origin");
    await runCases(t, app, [
      {
        description: "a synchronous locate() throwing is rendered",
        url,
        status: 503,
        wantCode: "UNAVAILABLE",
      },
    ]);
    origins.sync = false;
    await runCases(t, app, [
      {
        description: "locate() throwing an OciError is rendered",
        url,
        status: 503,
        wantCode: "UNAVAILABLE",
      },
    ]);
    origins.fail = new Error("boom");
    await runCases(t, app, [
      {
        description: "locate() throwing anything else → 500 INTERNAL",
        url,
        status: 500,
        wantCode: "INTERNAL",
      },
    ]);
    const errorsLogged = lines.filter((l) => (l.level as number) >= 50);
    assert.equal(
      errorsLogged.length,
      1,
      "the unexpected error is logged once, the 503s are not errors",
    );
    assert.match(JSON.stringify(errorsLogged[0]), /boom/);
  } finally {
    await f.cleanup();
  }
});

Deno.test("blobs: a store that cannot stream, without origins → 404 BLOB_UNKNOWN", async (t) => {
  const f = await makeFixture();
  try {
    const readOnly: ReadStore = {
      location: f.store.location,
      read: (k, o) => f.store.read(k, o),
      stat: (k) => f.store.stat(k),
    };
    const { app } = await appFor(readOnly);
    const url = `/v2/library/alpine/blobs/${f.layer.digest}`;
    await runCases(t, app, [
      { description: "GET → 404", url, status: 404, wantCode: "BLOB_UNKNOWN" },
      { description: "HEAD → 200 (the index knows it)", method: "HEAD", url, status: 200 },
      {
        description: "manifests are still served",
        url: "/v2/library/alpine/manifests/latest",
        status: 200,
        wantBody: f.alpine.bytes,
      },
    ]);
  } finally {
    await f.cleanup();
  }
});

Deno.test("a damaged store: missing blob → 404, truncated blob or altered manifest → 500", async (t) => {
  const f = await makeFixture();
  try {
    // A 500 body is generic; what is wrong (store location, sizes) goes to the log only.
    const { log, lines } = memoryLogger();
    const { app } = await appFor(f.store, { log });
    const generic = { errors: [{ code: "INTERNAL", message: "internal server error" }] };
    const layerPath = f.store.pathOf(`blobs/sha256/${f.layer.digest.slice(7)}`);
    await Deno.writeFile(layerPath, f.layer.bytes.slice(0, 10));
    await runCases(t, app, [
      {
        description: "truncated → 500 INTERNAL",
        url: `/v2/library/alpine/blobs/${f.layer.digest}`,
        status: 500,
        wantCode: "INTERNAL",
        wantBody: generic,
      },
    ]);
    // A manifest whose stored bytes do not match its digest is refused, never served.
    await Deno.writeFile(f.store.pathOf(`blobs/sha256/${f.other.digest.slice(7)}`), f.alpine.bytes);
    await runCases(t, app, [
      {
        description: "manifest digest mismatch → 500 INTERNAL, no store path in the body",
        url: "/v2/other/repo/manifests/v1",
        status: 500,
        wantCode: "INTERNAL",
        wantBody: generic,
      },
    ]);
    const logged = lines.filter((l) => l.level === 50).map((l) => String(l.msg));
    assert.ok(logged.some((m) => m.includes(f.store.location)), `logged: ${logged}`);
    assert.ok(logged.some((m) => m.includes("has 10 bytes")), `logged: ${logged}`);
    await Deno.remove(layerPath);
    await runCases(t, app, [
      {
        description: "missing → 404",
        url: `/v2/library/alpine/blobs/${f.layer.digest}`,
        status: 404,
        wantCode: "BLOB_UNKNOWN",
      },
    ]);
  } finally {
    await f.cleanup();
  }
});
