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

type Want = Case["wantHeaders"];

Deno.test("blobs: Range requests on a streaming store", async (t) => {
  const f = await makeFixture();
  try {
    const { app } = await appFor(f.store);
    const url = `/v2/library/alpine/blobs/${f.layer.digest}`;
    const b = f.layer.bytes; // 1000 bytes
    const etag = `"${f.layer.digest}"`;
    // [description, request headers, status, the body (bytes) or error code, headers wanted]
    const rows: [string, Record<string, string>, number, Uint8Array | string, Want?][] = [
      ["bytes=0-99 → 206", { Range: "bytes=0-99" }, 206, b.slice(0, 100), {
        "content-range": "bytes 0-99/1000",
        "content-length": "100",
      }],
      ["bytes=990- → the tail", { Range: "bytes=990-" }, 206, b.slice(990), {
        "content-range": "bytes 990-999/1000",
        "content-length": "10",
      }],
      ["bytes=-5 → the last 5", { Range: "bytes=-5" }, 206, b.slice(995), {
        "content-range": "bytes 995-999/1000",
      }],
      ["bytes=-5000 → the whole blob as a range", { Range: "bytes=-5000" }, 206, b, {
        "content-range": "bytes 0-999/1000",
      }],
      ["end past the size is clamped", { Range: "bytes=500-5000" }, 206, b.slice(500), {
        "content-range": "bytes 500-999/1000",
      }],
      ["start past the end → 416", { Range: "bytes=1000-" }, 416, "RANGE_INVALID", {
        "content-range": "bytes */1000",
      }],
      ["bytes=-0 → 416", { Range: "bytes=-0" }, 416, "RANGE_INVALID"],
      ["multiple ranges are ignored → 200", { Range: "bytes=0-1,5-6" }, 200, b],
      ["a reversed range is ignored → 200", { Range: "bytes=9-3" }, 200, b],
      ["another unit is ignored → 200", { Range: "items=0-3" }, 200, b],
      // RFC 9110 §13.1.5: Range applies only when If-Range matches the strong ETag.
      [
        "If-Range = the ETag → 206",
        { Range: "bytes=0-99", "If-Range": etag },
        206,
        b.slice(0, 100),
        {
          "content-range": "bytes 0-99/1000",
          etag,
        },
      ],
      [
        "If-Range another ETag → 200, whole blob",
        { Range: "bytes=0-99", "If-Range": '"sha256:0000"' },
        200,
        b,
        { "content-range": null, "content-length": "1000" },
      ],
      [
        "If-Range a weak ETag of the same digest → 200 (weak never matches)",
        { Range: "bytes=0-99", "If-Range": `W/${etag}` },
        200,
        b,
      ],
      [
        "If-Range a date (no Last-Modified is sent) → 200",
        { Range: "bytes=0-99", "If-Range": "Tue, 01 Dec 2026 20:53:43 GMT" },
        200,
        b,
      ],
      [
        "If-Range unquoted digest → 200",
        { Range: "bytes=0-99", "If-Range": f.layer.digest },
        200,
        b,
      ],
      [
        "If-Range not matching + unsatisfiable Range → 200, not 416",
        { Range: "bytes=5000-", "If-Range": '"x"' },
        200,
        b,
      ],
      ["If-Range without Range → 200", { "If-Range": etag }, 200, b],
    ];
    const cases: Case[] = rows.map(([description, headers, status, want, wantHeaders]) => ({
      description,
      url,
      headers,
      status,
      ...(typeof want === "string" ? { wantCode: want } : { wantBody: want }),
      wantHeaders,
    }));
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

    // Each row changes the fake origins, then asks again: [description, change, answer].
    const location = `http://cdn-a.test/registry/blobs/sha256/${f.layer.digest.slice(7)}`;
    const unavailable = { status: 503, wantCode: "UNAVAILABLE" };
    const stages: [string, () => void, Omit<Case, "description" | "url">][] = [
      ["a synchronous locate() gives the same 307", () => origins.sync = true, {
        status: 307,
        wantHeaders: { location },
      }],
      ["a synchronous locate() throwing is rendered", () => {
        origins.fail = new OciError("UNAVAILABLE", "no healthy origin");
      }, unavailable],
      ["locate() throwing an OciError is rendered", () => origins.sync = false, unavailable],
      ["locate() throwing anything else → 500 INTERNAL", () => {
        origins.fail = new Error("boom");
      }, { status: 500, wantCode: "INTERNAL" }],
    ];
    for (const [description, change, want] of stages) {
      change();
      await runCases(t, app, [{ description, url, ...want }]);
    }
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
