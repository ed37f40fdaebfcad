/**
 * @module
 * parseV2Path(): names with slashes, endpoint words inside names, uploads, and paths
 * that are no endpoint.
 */
import assert from "node:assert/strict";
import { parseV2Path } from "../../lib/server/path.ts";

Deno.test("parseV2Path() splits names with slashes from the endpoint", () => {
  const table: [string, unknown][] = [
    ["/v2", { kind: "base" }],
    ["/v2/", { kind: "base" }],
    ["/v2/_catalog", { kind: "catalog" }],
    ["/v2/a/manifests/latest", { kind: "manifests", name: "a", ref: "latest" }],
    ["/v2/a/b/c/blobs/sha256:x", { kind: "blobs", name: "a/b/c", ref: "sha256:x" }],
    ["/v2/foo/manifests/manifests/v1", { kind: "manifests", name: "foo/manifests", ref: "v1" }],
    ["/v2/foo/tags/manifests/list", { kind: "manifests", name: "foo/tags", ref: "list" }],
    ["/v2/foo/manifests/tags/list", { kind: "tags", name: "foo/manifests" }],
    ["/v2/x/referrers/sha256:y", { kind: "referrers", name: "x", ref: "sha256:y" }],
    ["/v2/x/blobs/uploads/", { kind: "uploads", name: "x" }],
    ["/v2/x/y/blobs/uploads/abc", { kind: "uploads", name: "x/y" }],
    ["/v2/x/blobs/uploads", { kind: "blobs", name: "x", ref: "uploads" }],
    ["/v2//manifests/x", { kind: "manifests", name: "", ref: "x" }],
    ["/v2/x/tags/list/", { kind: "unknown" }],
    ["/v2/x/y", { kind: "unknown" }],
    ["/v2/x", { kind: "unknown" }],
    ["/v2/_catalog/x", { kind: "unknown" }],
    ["/v2/a%2Fb/manifests/x", { kind: "manifests", name: "a%2Fb", ref: "x" }],
  ];
  for (const [path, want] of table) assert.deepEqual(parseV2Path(path), want, path);
});
