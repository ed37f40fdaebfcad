import assert from "node:assert/strict";
import {
  DOCKER_LIST,
  DOCKER_MANIFEST,
  OCI_INDEX,
  OCI_MANIFEST,
  parseManifest,
} from "../../lib/oci/mediatypes.ts";

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const d = (n: number, mediaType = "application/vnd.oci.image.layer.v1.tar+gzip") => ({
  mediaType,
  digest: "sha256:" + n.toString(16).padStart(64, "0"),
  size: n,
});

Deno.test("parseManifest() reads an OCI image manifest's config and layers", () => {
  const info = parseManifest(enc({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: d(1, "application/vnd.oci.image.config.v1+json"),
    layers: [d(2), d(3)],
  }));
  assert.equal(info.mediaType, OCI_MANIFEST);
  assert.deepEqual(info.blobs.map((b) => b.size), [1, 2, 3]);
  assert.deepEqual(info.manifests, []);
});

Deno.test("parseManifest() reads Docker schema 2 manifests and manifest lists", () => {
  const m = parseManifest(enc({
    schemaVersion: 2,
    mediaType: DOCKER_MANIFEST,
    config: d(1),
    layers: [],
  }));
  assert.equal(m.mediaType, DOCKER_MANIFEST);
  const l = parseManifest(enc({
    schemaVersion: 2,
    mediaType: DOCKER_LIST,
    manifests: [d(4, DOCKER_MANIFEST)],
  }));
  assert.equal(l.manifests.length, 1);
});

Deno.test("parseManifest() infers the type from the declared media type or the shape", () => {
  const i = parseManifest(enc({ schemaVersion: 2, manifests: [] }));
  assert.equal(i.mediaType, OCI_INDEX);
  const m = parseManifest(enc({ schemaVersion: 2, config: d(1), layers: [] }), DOCKER_MANIFEST);
  assert.equal(m.mediaType, DOCKER_MANIFEST);
});

Deno.test("parseManifest() derives artifactType of a referrer from its config", () => {
  const info = parseManifest(enc({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: d(1, "application/vnd.example.sbom"),
    layers: [],
    subject: d(9, OCI_MANIFEST),
  }));
  assert.equal(info.artifactType, "application/vnd.example.sbom");
  assert.equal(info.subject?.size, 9);
});

Deno.test("parseManifest() refuses schema 1, unknown types and malformed documents", () => {
  const cases: [unknown, RegExp, string?][] = [
    ["not json", /not JSON/],
    [[1], /not a JSON object/],
    [{ schemaVersion: 1, name: "x", fsLayers: [] }, /schema 1/],
    [
      { schemaVersion: 2, config: d(1), layers: [] },
      /schema 1/,
      "application/vnd.docker.distribution.manifest.v1+prettyjws",
    ],
    [{ schemaVersion: 3 }, /schemaVersion must be 2/],
    [{ schemaVersion: 2, mediaType: "text/plain" }, /unsupported media type/],
    [{ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] }, /config is not a descriptor/],
    [{ schemaVersion: 2, mediaType: OCI_MANIFEST, config: d(1) }, /without layers/],
    [
      { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...d(1), size: -1 }, layers: [] },
      /config.size invalid/,
    ],
    [
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { ...d(1), digest: "../x" },
        layers: [],
      },
      /config.digest invalid/,
    ],
    [{ schemaVersion: 2, mediaType: OCI_INDEX }, /index without manifests/],
    [{ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }, /does not match/, OCI_MANIFEST],
  ];
  for (const [doc, re, declared] of cases) {
    const bytes = typeof doc === "string" ? new TextEncoder().encode(doc) : enc(doc);
    assert.throws(() => parseManifest(bytes, declared), (e: Error & { code?: string }) => {
      assert.equal(e.code, "MANIFEST_INVALID");
      assert.match(e.message, re);
      return true;
    }, JSON.stringify(doc));
  }
});
