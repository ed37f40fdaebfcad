/** parseSourceSpec(): every transport parsed once, into what openSource() and the CLI use. */
import assert from "node:assert/strict";
import { UsageError } from "../../lib/cli/usage.ts";
import { parseSourceSpec } from "../../lib/sources/spec.ts";

Deno.test("parseSourceSpec() parses each transport (table)", () => {
  const rows: [string, Record<string, unknown>][] = [
    ["oci:/tmp/img", { transport: "oci", path: "/tmp/img", tag: undefined }],
    ["oci:/tmp/img:v1", { transport: "oci", path: "/tmp/img", tag: "v1" }],
    ["oci:img:", { transport: "oci", path: "img", tag: undefined }],
    ["oci-archive:x.tar:v2", { transport: "oci-archive", path: "x.tar", tag: "v2" }],
    ["docker-archive:s.tar", { transport: "docker-archive", path: "s.tar", ref: undefined }],
    ["docker-archive:s.tar:busybox:1.36", {
      transport: "docker-archive",
      path: "s.tar",
      ref: { kind: "tag", ref: "busybox:1.36", tag: "1.36" },
      tag: "1.36",
    }],
    ["docker-archive:s.tar:@1", {
      transport: "docker-archive",
      path: "s.tar",
      ref: { kind: "index", index: 1 },
      tag: undefined,
    }],
    ["docker://127.0.0.1:5000/a/b:v3", {
      transport: "docker",
      ref: {
        host: "127.0.0.1:5000",
        base: "http://127.0.0.1:5000",
        repository: "a/b",
        tag: "v3",
      },
      tag: "v3",
    }],
    ["docker://busybox", {
      transport: "docker",
      ref: {
        host: "docker.io",
        base: "https://registry-1.docker.io",
        repository: "library/busybox",
        tag: "latest",
      },
      tag: "latest",
    }],
  ];
  for (const [text, want] of rows) {
    const got = parseSourceSpec(text) as unknown as Record<string, unknown>;
    assert.equal(got.text, text);
    for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k], v, `${text} ${k}`);
  }
});

Deno.test("parseSourceSpec() refuses bad specs with a UsageError naming the spec", () => {
  for (
    const [text, needle] of [
      ["/tmp/img", "unknown transport"],
      ["dir:/tmp/img", '"dir:"'],
      ["oci:", 'missing path after "oci:"'],
      ["oci-archive::v1", "missing path"],
      ["docker-archive:s.tar:@x", "not @N"],
      ["docker-archive:s.tar:a@sha256:00", "not a digest"],
      ["docker:/x", "docker://HOST"],
      ["docker://127.0.0.1/Upper", '"Upper"'],
    ]
  ) {
    assert.throws(
      () => parseSourceSpec(text),
      (e: Error) =>
        e instanceof UsageError && e.exitCode === 2 && e.message.includes(`"${text}"`) &&
        e.message.includes(needle),
      text,
    );
  }
});
