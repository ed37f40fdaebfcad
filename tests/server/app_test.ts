/**
 * @module
 * createApp(): the pull API endpoint by endpoint, as one table over the fixture store
 * (no origins: the directory store streams blobs itself).
 */
import { DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST } from "../../lib/oci/mediatypes.ts";
import { makeFixture, SBOM_TYPE, SIG_TYPE } from "./fixture.ts";
import type { IndexLoad } from "../../lib/index/held.ts";
import { appFor, type Case, runCases } from "./harness.ts";

// The same table with every tag index held, and with each read at its first request
// (index.load "on-demand", lib/index/held.ts): a client must not tell them apart.
for (const index of [{ load: "all" }, { load: "on-demand", cacheBytes: 1 << 20 }] as const) {
  Deno.test(`createApp() serves the pull API (index.load ${index.load})`, (t) => pullApi(t, index));
}

async function pullApi(t: Deno.TestContext, index: IndexLoad) {
  const f = await makeFixture();
  try {
    const { app } = await appFor(f.store, { index });
    const a = f.alpine;
    const sigDesc = {
      mediaType: OCI_MANIFEST,
      digest: f.sig.digest,
      size: f.sig.size,
      artifactType: SIG_TYPE,
      annotations: { "org.example.signer": "ci" },
    };
    const sbomDesc = {
      mediaType: OCI_MANIFEST,
      digest: f.sbom.digest,
      size: f.sbom.size,
      artifactType: SBOM_TYPE,
    };
    const referrersAll = [sigDesc, sbomDesc].sort((x, y) => x.digest < y.digest ? -1 : 1);
    const cases: Case[] = [
      { description: "GET /v2/ → 200 {}", url: "/v2/", status: 200, wantBody: {} },
      { description: "HEAD /v2/ → 200", method: "HEAD", url: "/v2/", status: 200 },
      { description: "GET /v2 → 200", url: "/v2", status: 200, wantBody: {} },
      {
        description: "GET manifest by tag: exact bytes and headers",
        url: "/v2/library/alpine/manifests/latest",
        status: 200,
        wantBody: a.bytes,
        wantHeaders: {
          "content-type": OCI_MANIFEST,
          "docker-content-digest": a.digest,
          "content-length": String(a.size),
          etag: `"${a.digest}"`,
        },
      },
      {
        description: "HEAD manifest by tag: headers, no body",
        method: "HEAD",
        url: "/v2/library/alpine/manifests/3.20",
        status: 200,
        wantHeaders: {
          "content-type": OCI_MANIFEST,
          "docker-content-digest": a.digest,
          "content-length": String(a.size),
        },
      },
      {
        description: "GET manifest by digest (Docker media type)",
        url: `/v2/library/alpine/manifests/${f.alpineArm.digest}`,
        status: 200,
        wantBody: f.alpineArm.bytes,
        wantHeaders: {
          "content-type": DOCKER_MANIFEST,
          "docker-content-digest": f.alpineArm.digest,
        },
      },
      {
        description: "GET index by tag",
        url: "/v2/library/alpine/manifests/multi",
        status: 200,
        wantBody: f.multi.bytes,
        wantHeaders: { "content-type": OCI_INDEX },
      },
      {
        description: "If-None-Match with the digest ETag → 304",
        url: "/v2/library/alpine/manifests/latest",
        headers: { "If-None-Match": `W/"x", "${a.digest}"` },
        status: 304,
        wantHeaders: { etag: `"${a.digest}"`, "docker-content-digest": a.digest },
      },
      {
        description: "If-None-Match with another ETag → 200",
        url: "/v2/library/alpine/manifests/latest",
        headers: { "If-None-Match": `"sha256:0"` },
        status: 200,
        wantBody: a.bytes,
      },
      {
        description: "unknown tag → 404 MANIFEST_UNKNOWN",
        url: "/v2/library/alpine/manifests/nope",
        status: 404,
        wantCode: "MANIFEST_UNKNOWN",
      },
      {
        description: "a manifest of another repository → 404 MANIFEST_UNKNOWN",
        url: `/v2/library/alpine/manifests/${f.other.digest}`,
        status: 404,
        wantCode: "MANIFEST_UNKNOWN",
      },
      {
        description: "prototype names are not tags (constructor)",
        url: "/v2/library/alpine/manifests/constructor",
        status: 404,
        wantCode: "MANIFEST_UNKNOWN",
      },
      {
        description: "__proto__ is not a tag",
        url: "/v2/library/alpine/manifests/__proto__",
        status: 404,
        wantCode: "MANIFEST_UNKNOWN",
      },
      {
        description: "unknown repository → 404 NAME_UNKNOWN",
        url: "/v2/library/nope/manifests/latest",
        status: 404,
        wantCode: "NAME_UNKNOWN",
      },
      {
        description: "bad digest reference → 400 DIGEST_INVALID",
        url: "/v2/library/alpine/manifests/sha256:abc",
        status: 400,
        wantCode: "DIGEST_INVALID",
      },
      {
        description: "GET blob streams the bytes",
        url: `/v2/library/alpine/blobs/${f.layer.digest}`,
        status: 200,
        wantBody: f.layer.bytes,
        wantHeaders: {
          "content-type": "application/octet-stream",
          "content-length": "1000",
          "docker-content-digest": f.layer.digest,
          "accept-ranges": "bytes",
        },
      },
      {
        description: "HEAD blob → 200 with size and digest",
        method: "HEAD",
        url: `/v2/library/alpine/blobs/${f.layer.digest}`,
        status: 200,
        wantHeaders: {
          "content-length": "1000",
          "docker-content-digest": f.layer.digest,
          "accept-ranges": "bytes",
        },
      },
      {
        description: "a manifest is also readable as a blob of its repository",
        url: `/v2/library/alpine/blobs/${a.digest}`,
        status: 200,
        wantBody: a.bytes,
      },
      {
        description: "a blob only another repository references → 404 BLOB_UNKNOWN",
        url: `/v2/library/alpine/blobs/${f.otherLayer.digest}`,
        status: 404,
        wantCode: "BLOB_UNKNOWN",
      },
      {
        description: "HEAD of another repository's blob → 404",
        method: "HEAD",
        url: `/v2/library/alpine/blobs/${f.otherLayer.digest}`,
        status: 404,
      },
      {
        description: "blob with a bad digest → 400 DIGEST_INVALID",
        url: "/v2/library/alpine/blobs/latest",
        status: 400,
        wantCode: "DIGEST_INVALID",
      },
      {
        description: "blob of an unknown repository → 404 NAME_UNKNOWN",
        url: `/v2/nope/blobs/${f.layer.digest}`,
        status: 404,
        wantCode: "NAME_UNKNOWN",
      },
      {
        description: "tags/list",
        url: "/v2/library/alpine/tags/list",
        status: 200,
        wantBody: { name: "library/alpine", tags: ["3.20", "latest", "multi"] },
        wantHeaders: { link: null },
      },
      {
        description: "tags/list of an unknown repository → 404",
        url: "/v2/zzz/tags/list",
        status: 404,
        wantCode: "NAME_UNKNOWN",
      },
      {
        description: "catalog",
        url: "/v2/_catalog",
        status: 200,
        wantBody: { repositories: ["library/alpine", "many", "other/repo"] },
      },
      {
        description: "catalog n=2 links to the rest",
        url: "/v2/_catalog?n=2",
        status: 200,
        wantBody: { repositories: ["library/alpine", "many"] },
        wantHeaders: { link: '</v2/_catalog?n=2&last=many>; rel="next"' },
      },
      {
        description: "referrers of an image",
        url: `/v2/library/alpine/referrers/${a.digest}`,
        status: 200,
        wantBody: { schemaVersion: 2, mediaType: OCI_INDEX, manifests: referrersAll },
        wantHeaders: { "content-type": OCI_INDEX, "oci-filters-applied": null },
      },
      {
        description: "referrers filtered by artifactType",
        url: `/v2/library/alpine/referrers/${a.digest}?artifactType=${
          encodeURIComponent(SBOM_TYPE)
        }`,
        status: 200,
        wantBody: { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [sbomDesc] },
        wantHeaders: { "oci-filters-applied": "artifactType" },
      },
      {
        description: "referrers filtered by an artifactType nobody has → empty",
        url: `/v2/library/alpine/referrers/${a.digest}?artifactType=x%2Fy`,
        status: 200,
        wantBody: { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] },
        wantHeaders: { "oci-filters-applied": "artifactType" },
      },
      {
        description: "referrers of an unknown subject → empty index, not 404",
        url: `/v2/library/alpine/referrers/sha256:${"0".repeat(64)}`,
        status: 200,
        wantBody: { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] },
      },
      {
        description: "referrers with a bad digest → 400",
        url: "/v2/library/alpine/referrers/sha256:xyz",
        status: 400,
        wantCode: "DIGEST_INVALID",
      },
      {
        description: "referrers of an unknown repository → 404 NAME_UNKNOWN",
        url: `/v2/nope/referrers/${a.digest}`,
        status: 404,
        wantCode: "NAME_UNKNOWN",
      },
      {
        description: "unknown /v2 endpoint → 404",
        url: "/v2/library/alpine/nothing/here",
        status: 404,
      },
      {
        description: "GET of an upload → 404 BLOB_UPLOAD_UNKNOWN",
        url: "/v2/library/alpine/blobs/uploads/1234",
        status: 404,
        wantCode: "BLOB_UPLOAD_UNKNOWN",
      },
      { description: "a path outside the API → 404", url: "/index.html", status: 404 },
    ];
    await runCases(t, app, cases);
  } finally {
    await f.cleanup();
  }
}
