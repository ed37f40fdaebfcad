/**
 * @module
 * parseV2Path(): names with slashes, endpoint words inside names, uploads, and paths
 * that are no endpoint. requestTarget(): the same path and query whether the runtime
 * built an absolute url from the Host or handed over the target alone.
 */
import assert from "node:assert/strict";
import { parseV2Path, requestTarget } from "../../lib/server/path.ts";

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

Deno.test("requestTarget() reads a target-only url (no usable Host) like an absolute one", () => {
  // What Bun hands over for a request without a usable Host is the target alone; with one,
  // the WHATWG-parsed `http://<Host><target>` (measured: see lib/server/path.ts).
  const table: [url: string, path: string, query: string][] = [
    ["http://127.0.0.1:5000/readyz", "/readyz", ""],
    ["/readyz", "/readyz", ""],
    ["/v2/metrics", "/v2/metrics", ""],
    ["/v2/", "/v2/", ""],
    ["/v2", "/v2", ""],
    ["/", "/", ""],
    ["/v2/_catalog?n=1&last=a/b", "/v2/_catalog", "n=1&last=a/b"],
    ["http://h/v2/_catalog?n=1", "/v2/_catalog", "n=1"],
    // Host "[::1" or "h:99999": Bun's url is the unparsed concatenation.
    ["http://[::1/readyz", "/readyz", ""],
    ["http://[::1/a/../readyz", "/readyz", ""],
    ["http://h:99999/v2/%2E%2E/metrics?x", "/metrics", "x"],
    // A parsed url is left as it is (the parse is idempotent where it runs again).
    ["http://h/.well-known/x", "/.well-known/x", ""],
    ["http://h/v2/%EF%BF%BDx/tags/list", "/v2/%EF%BF%BDx/tags/list", ""],
    // Dot segments resolved as the runtime resolves them for a good Host.
    ["/a/../readyz", "/readyz", ""],
    ["/v2/%2e%2e/metrics", "/metrics", ""],
    ["/v2/x/%2E%2E/_catalog", "/v2/_catalog", ""],
    // `//` starts a path here, never an authority.
    ["//evil/readyz", "//evil/readyz", ""],
    // Non-ASCII as Bun passes it (U+FFFD for a bad byte), encoded as for a good Host.
    ["/v2/\uFFFDx/tags/list", "/v2/%EF%BF%BDx/tags/list", ""],
    ["/v2/a%2Fb/manifests/x", "/v2/a%2Fb/manifests/x", ""],
    ["*", "/", ""],
  ];
  for (const [url, path, query] of table) {
    assert.deepEqual(requestTarget(url), { path, query }, url);
  }
});
