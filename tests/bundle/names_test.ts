/**
 * @module
 * destination(): where `import` puts an index.json entry. A digest-pinned name (what
 * containerd writes for a pull by digest) is untagged unless the bundle names a tag; it
 * never becomes `latest`.
 */
import assert from "node:assert/strict";
import { destination, parseImageName } from "../../lib/bundle/names.ts";
import type { Descriptor } from "../../lib/oci/mediatypes.ts";

const D = `sha256:${"a".repeat(64)}`;
const entry = (annotations: Record<string, string>): Descriptor => ({
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  digest: D,
  size: 100,
  annotations,
});
const IMAGE = "io.containerd.image.name";
const REF = "org.opencontainers.image.ref.name";

Deno.test("parseImageName() splits NAME[:TAG][@DIGEST], not a registry port", () => {
  assert.deepEqual(parseImageName(`docker.io/library/alpine@${D}`), {
    name: "docker.io/library/alpine",
    digest: D,
  });
  assert.deepEqual(parseImageName(`localhost:5000/a/b:3.19@${D}`), {
    name: "localhost:5000/a/b",
    tag: "3.19",
    digest: D,
  });
  assert.deepEqual(parseImageName("localhost:5000/a/b"), { name: "localhost:5000/a/b" });
});

Deno.test("destination() never makes a digest-pinned name latest", () => {
  const rows: [string, Record<string, string>, string | undefined, unknown][] = [
    [
      "containerd digest pull",
      { [IMAGE]: `docker.io/library/alpine@${D}`, [REF]: `@${D}` },
      undefined,
      {
        name: "docker.io/library/alpine",
        tag: undefined,
      },
    ],
    ["digest pull, no ref.name", { [IMAGE]: `alpine@${D}` }, undefined, {
      name: "alpine",
      tag: undefined,
    }],
    ["digest pull, ref.name a tag", { [IMAGE]: `alpine@${D}`, [REF]: "3.19" }, undefined, {
      name: "alpine",
      tag: "3.19",
    }],
    ["tag and digest", { [IMAGE]: `alpine:3.19@${D}` }, undefined, { name: "alpine", tag: "3.19" }],
    ["export's name", { [IMAGE]: "team/a:v1", [REF]: "v1" }, undefined, {
      name: "team/a",
      tag: "v1",
    }],
    ["bare name is latest", { [IMAGE]: "team/a" }, undefined, { name: "team/a", tag: "latest" }],
    ["--repo, ref.name tag", { [REF]: "v9" }, "x/y", { name: "x/y", tag: "v9" }],
    ["--repo, ref.name @digest", { [REF]: `@${D}` }, "x/y", { name: "x/y", tag: undefined }],
    ["--repo, ref.name tag@digest", { [REF]: `3.19@${D}` }, "x/y", { name: "x/y", tag: "3.19" }],
    ["--repo, ref.name full ref", { [REF]: "docker.io/a/b:2" }, "x/y", { name: "x/y", tag: "2" }],
    ["--repo, full ref @digest", { [REF]: `docker.io/a/b@${D}` }, "x/y", {
      name: "x/y",
      tag: undefined,
    }],
    ["no --repo, ref.name only", { [REF]: "v9" }, undefined, undefined],
    ["no annotations (a referrer)", {}, "x/y", undefined],
  ];
  for (const [what, annotations, repo, want] of rows) {
    assert.deepEqual(destination(entry(annotations), repo), want, what);
  }
});
