/**
 * @module
 * The layout's rules (lib/layout/rules.ts) and its one reader/writer (documents.ts): what
 * the server accepts, what it refuses (naming the key and the field), null-prototype
 * records, and round trips through encodeDocument.
 */
import assert from "node:assert/strict";
import { CATALOG_KEY, MARKER_KEY, repoIndexKey } from "../../lib/layout/keys.ts";
import {
  decodeDocument,
  DocumentError,
  encodeDocument,
  writeDocument,
} from "../../lib/layout/documents.ts";
import {
  FieldError,
  validateCatalog,
  validateManifestEntry,
  validateMarker,
  validateRepoIndex,
} from "../../lib/layout/rules.ts";
import { DirStore } from "../../lib/store/dir.ts";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const OCI = "application/vnd.oci.image.manifest.v1+json";

function index(extra: Record<string, unknown> = {}, entry: Record<string, unknown> = {}) {
  return {
    version: 1,
    name: "demo/app",
    tags: { v1: D("a") },
    manifests: { [D("a")]: { mediaType: OCI, size: 10, blobs: [D("b")], ...entry } },
    blobs: { [D("b")]: 5 },
    ...extra,
  };
}

Deno.test("validateRepoIndex() keeps the tags __proto__ and constructor, in null-prototype records", () => {
  const bytes = new TextEncoder().encode(
    `{"version":1,"name":"demo/app","tags":{"__proto__":"${D("a")}","constructor":"${
      D("a")
    }"},"manifests":{"${D("a")}":{"mediaType":"${OCI}","size":10,` +
      `"annotations":{"__proto__":"x","toString":"y"}}},"blobs":{}}`,
  );
  const doc = decodeDocument("k", bytes, (v) => validateRepoIndex(v, "demo/app"));
  assert.deepEqual(Object.keys(doc.tags), ["__proto__", "constructor"]);
  assert.equal(doc.tags["__proto__"], D("a"));
  assert.equal(Object.getPrototypeOf(doc.tags), null);
  assert.equal(Object.getPrototypeOf(doc.manifests), null);
  assert.equal(Object.getPrototypeOf(doc.blobs), null);
  assert.equal(doc.tags["toString"], undefined, "no Object.prototype member is a tag");
  assert.equal(doc.manifests["hasOwnProperty"], undefined);
  const ann = doc.manifests[D("a")].annotations!;
  assert.equal(Object.getPrototypeOf(ann), null);
  assert.deepEqual(Object.keys(ann), ["__proto__", "toString"]);
  // Round trip: the encoding of what was read is read back identically.
  const again = decodeDocument("k", encodeDocument(doc), (v) => validateRepoIndex(v, "demo/app"));
  assert.deepEqual(Object.keys(again.tags), ["__proto__", "constructor"]);
  assert.equal(
    new TextDecoder().decode(encodeDocument(again)),
    new TextDecoder().decode(bytes) + "\n",
  );
});

Deno.test("validateRepoIndex() keeps unknown fields (v1 readers ignore them, writers keep them)", () => {
  const doc = validateRepoIndex(index({ future: { x: 1 } }, { setAt: "2026" }), "demo/app");
  assert.deepEqual((doc as unknown as { future: unknown }).future, { x: 1 });
  assert.equal((doc.manifests[D("a")] as unknown as { setAt: string }).setAt, "2026");
});

Deno.test("validateRepoIndex() refuses each defect, naming the field", () => {
  const bad: [string, unknown, string][] = [
    ["version", index({ version: 2 }), "version: layout version 2 is not supported"],
    ["missing version", index({ version: undefined }), "version: missing"],
    ["tags an array", index({ tags: [] }), "tags: not an object, got []"],
    ["bad tag", index({ tags: { "-x": D("a") } }), 'tags: "-x" is not a valid tag'],
    ["tag to nothing", index({ tags: { v1: D("c") } }), "tags[v1]: "],
    ["bad manifest key", index({ manifests: { "sha256:x": {} } }), "manifests[sha256:x]"],
    [
      "annotation not a string",
      index({}, { annotations: { "org.x": 5 } }),
      `manifests[${D("a")}].annotations[org.x]: not a string, got 5`,
    ],
    [
      "annotations an array",
      index({}, { annotations: ["a"] }),
      `manifests[${D("a")}].annotations: not an object, got ["a"]`,
    ],
    [
      "subject sha384",
      index({}, { subject: `sha384:${"a".repeat(96)}` }),
      `manifests[${D("a")}].subject: "sha384:${
        "a".repeat(96)
      }" is not a digest: unsupported algorithm`,
    ],
    [
      "subject uppercase",
      index({}, { subject: `sha256:${"A".repeat(64)}` }),
      `manifests[${D("a")}].subject: "sha256:${
        "A".repeat(64)
      }" is not a digest: sha256 needs 64 lowercase hex`,
    ],
    ["child not a digest", index({}, { children: ["x"] }), `manifests[${D("a")}].children[0]:`],
    ["size a fraction", index({}, { size: 1.5 }), `manifests[${D("a")}].size: size 1.5 invalid`],
    ["empty media type", index({}, { mediaType: "" }), `.mediaType: must not be empty`],
    ["blob size", index({ blobs: { [D("b")]: -1 } }), `blobs[${D("b")}]: size -1 invalid`],
    ["blob key", index({ blobs: { "sha256:../../x": 1 } }), "blobs[sha256:../../x]: "],
    ["name", index({ name: "x" }), 'name: repository name "x" is not "demo/app"'],
  ];
  for (const [what, doc, want] of bad) {
    assert.throws(
      () => validateRepoIndex(doc, "demo/app"),
      (e: Error) => e instanceof FieldError && e.message.includes(want),
      `${what}: ${
        (() => {
          try {
            validateRepoIndex(doc, "demo/app");
            return "accepted";
          } catch (e) {
            return (e as Error).message;
          }
        })()
      }`,
    );
  }
});

Deno.test("validateManifestEntry() names fields relative to the entry", () => {
  assert.throws(
    () => validateManifestEntry({ mediaType: OCI, size: 1, annotations: { "org.x": 5 } }),
    { message: "annotations[org.x]: not a string, got 5" },
  );
  const ok = validateManifestEntry({ mediaType: OCI, size: 1, annotations: { a: "b" } });
  assert.equal(Object.getPrototypeOf(ok.annotations), null);
});

Deno.test("validateCatalog() sorts and de-duplicates; refuses names that are not names", () => {
  assert.deepEqual(validateCatalog({ version: 1, repositories: ["b", "a", "b"] }).repositories, [
    "a",
    "b",
  ]);
  assert.throws(
    () => validateCatalog({ version: 1, repositories: ["ok", "../etc"] }),
    /^FieldError: repositories\[1\]: "\.\.\/etc": each component must start and end/,
  );
  assert.throws(() => validateCatalog({ version: 1, repositories: [1] }), {
    message: "repositories[0]: not a string, got 1",
  });
});

Deno.test("validateMarker() accepts exactly the v1 marker", () => {
  assert.deepEqual(validateMarker({ layout: "static-registry", version: 1 }), {
    layout: "static-registry",
    version: 1,
  });
  assert.throws(() => validateMarker({ layout: "other", version: 1 }), {
    message: 'layout: "other" is not "static-registry"',
  });
  assert.throws(() => validateMarker([]), /not an object/);
});

Deno.test("validateMarker() takes an optional store id and created time, and keeps unknown fields", () => {
  const id = "7d0c1b2a-58f4-4f0e-9a55-0d1e2f3a4b5c";
  const doc = { layout: "static-registry", version: 1, id, created: "2030-01-01T00:00:00Z", x: 1 };
  assert.deepEqual(validateMarker(doc), doc);
  assert.throws(() => validateMarker({ ...doc, id: "" }), { message: /^id: "" is not a store id/ });
  assert.throws(
    () => validateMarker({ ...doc, id: "a/../b" }),
    /FieldError: id: "a\/..\/b" is not a store id/,
  );
  assert.throws(() => validateMarker({ ...doc, id: "x".repeat(65) }), /is not a store id/);
  assert.throws(() => validateMarker({ ...doc, id: 5 }), /FieldError: id: not a string, got 5/);
  assert.throws(() => validateMarker({ ...doc, created: 5 }), /FieldError: created: not a string/);
});

Deno.test("decodeDocument() names the key: not JSON, wrong field", () => {
  const enc = new TextEncoder();
  assert.throws(
    () => decodeDocument(CATALOG_KEY, enc.encode("{"), validateCatalog),
    (e: Error) =>
      e instanceof DocumentError && e.key === CATALOG_KEY &&
      /"catalog\.json": not JSON/.test(e.message),
  );
  assert.throws(
    () =>
      decodeDocument(
        MARKER_KEY,
        enc.encode('{"layout":"static-registry","version":3}'),
        validateMarker,
      ),
    (e: Error) =>
      e instanceof DocumentError && e.field === "version" &&
      e.message ===
        'store document "static-registry.json": version: layout version 3 is not supported (this build reads versions 1 and 2)',
  );
});

Deno.test("writeDocument() refuses what the reader would refuse, and writes nothing", async () => {
  const root = await Deno.makeTempDir({ prefix: "sr-layout-" });
  try {
    const store = new DirStore(root);
    const key = repoIndexKey("demo/app");
    await assert.rejects(
      writeDocument(
        store,
        key,
        index({}, { annotations: { "org.x": 5 } }),
        (v) => validateRepoIndex(v, "demo/app"),
      ),
      (e: Error) => e instanceof DocumentError && e.message.includes("annotations[org.x]"),
    );
    assert.equal((await store.read(key)).status, "missing");
    await writeDocument(store, key, index(), (v) => validateRepoIndex(v, "demo/app"));
    const r = await store.read(key);
    assert.equal(r.status, "ok");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
