/**
 * @module
 * End-to-end HTTP sanity of the COMPILED binary serving a directory store with no origins:
 * the headers the pull clients rely on, checked over a real socket (distribution-spec
 * §"Pulling manifests", §"Pulling blobs", §"Error codes"; DESIGN.md "The server").
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startRegistry } from "../helpers/binary.ts";
import { makeFixture, publish } from "./fixture.ts";

interface Row {
  what: string;
  method: "GET" | "HEAD" | "PUT" | "DELETE";
  path: string;
  headers?: Record<string, string>;
  status: number;
  /** Exact header values (case-insensitive names). */
  want?: Record<string, string>;
  /** sha256 of the body the response must carry. */
  bodyDigest?: string;
  /** distribution-spec error code in the JSON body. */
  code?: string;
}

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

Deno.test({
  name: "e2e: serve answers manifest and blob requests with the headers clients rely on",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-http-" });
    let reg: Awaited<ReturnType<typeof startRegistry>> | undefined;
    try {
      const store = `${tmp}/store`;
      await Deno.mkdir(store);
      const { single, ociIndex, dockerList } = await makeFixture(
        tmp,
        (l, tag, ref) => publish(l, tag, ref, store),
      );
      reg = await startRegistry({ config: { store } });
      const m = single.image;
      const layer = m.manifests[0].layers[1];
      const manifest = (p: typeof single) => ({
        "content-type": p.image.rootMediaType,
        "docker-content-digest": p.image.rootDigest,
        "content-length": String(p.image.rootSize),
        "docker-distribution-api-version": "registry/2.0",
      });
      const rows: Row[] = [
        {
          what: "base endpoint",
          method: "GET",
          path: "/v2/",
          status: 200,
          want: { "docker-distribution-api-version": "registry/2.0" },
        },
        ...[single, ociIndex, dockerList].flatMap((p): Row[] => [
          {
            what: `GET manifest by tag ${p.repo}`,
            method: "GET",
            path: `/v2/${p.repo}/manifests/${p.tag}`,
            status: 200,
            want: manifest(p),
            bodyDigest: p.image.rootDigest,
          },
          {
            what: `HEAD manifest by digest ${p.repo}`,
            method: "HEAD",
            path: `/v2/${p.repo}/manifests/${p.image.rootDigest}`,
            status: 200,
            want: manifest(p),
          },
        ]),
        {
          what: "HEAD blob the repository holds",
          method: "HEAD",
          path: `/v2/${single.repo}/blobs/${layer.digest}`,
          status: 200,
          want: { "content-length": String(layer.size), "docker-content-digest": layer.digest },
        },
        {
          what: "GET blob streamed from the directory store",
          method: "GET",
          path: `/v2/${single.repo}/blobs/${layer.digest}`,
          status: 200,
          want: { "content-length": String(layer.size) },
          bodyDigest: layer.digest,
        },
        {
          what: "GET blob with Range",
          method: "GET",
          path: `/v2/${single.repo}/blobs/${layer.digest}`,
          headers: { range: "bytes=0-9" },
          status: 206,
          want: { "content-length": "10", "content-range": `bytes 0-9/${layer.size}` },
        },
        {
          what: "blob of another repository → BLOB_UNKNOWN",
          method: "GET",
          path: `/v2/${single.repo}/blobs/${dockerList.image.blobs[0]}`,
          status: 404,
          code: "BLOB_UNKNOWN",
        },
        {
          what: "unknown tag → MANIFEST_UNKNOWN",
          method: "GET",
          path: `/v2/${single.repo}/manifests/nope`,
          status: 404,
          code: "MANIFEST_UNKNOWN",
        },
        {
          what: "writes are refused",
          method: "PUT",
          path: `/v2/${single.repo}/manifests/v2`,
          status: 405,
          code: "UNSUPPORTED",
        },
      ];
      for (const row of rows) {
        await t.step(`${row.what}: ${row.method} ${row.path}`, async () => {
          const res = await fetch(`${reg!.url}${row.path}`, {
            method: row.method,
            headers: row.headers,
            redirect: "manual",
            body: row.method === "PUT" ? "{}" : undefined,
          });
          const body = new Uint8Array(await res.arrayBuffer());
          assert.equal(res.status, row.status, new TextDecoder().decode(body));
          for (const [k, v] of Object.entries(row.want ?? {})) {
            assert.equal(res.headers.get(k), v, `header ${k}`);
          }
          if (row.method === "HEAD") assert.equal(body.byteLength, 0, "HEAD has no body");
          if (row.bodyDigest) assert.equal(sha256(body), row.bodyDigest);
          if (row.code) {
            const doc = JSON.parse(new TextDecoder().decode(body));
            assert.equal(doc.errors?.[0]?.code, row.code, JSON.stringify(doc));
          }
        });
      }
      await t.step("ETag → 304 Not Modified on a conditional manifest GET", async () => {
        const url = `${reg!.url}/v2/${single.repo}/manifests/${single.tag}`;
        const first = await fetch(url);
        await first.body?.cancel();
        const etag = first.headers.get("etag");
        assert.ok(etag, "manifest response has an ETag");
        const again = await fetch(url, { headers: { "if-none-match": etag } });
        await again.body?.cancel();
        assert.equal(again.status, 304);
      });
    } catch (e) {
      if (reg) console.error(`--- static-registry logs ---\n${reg.logs().slice(-6000)}`);
      throw e;
    } finally {
      await reg?.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
