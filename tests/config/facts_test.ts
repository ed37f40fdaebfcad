/**
 * @module
 * Each config fact is decided once, in lib/config, and the modules take the result as is:
 * an origin's trailing slash and query, the store grammar (`s3//bucket` is not a
 * directory), the S3 path-style and region defaults, the presigned origin's endpoint, and
 * every bound the runtime needs (`verifyBlobs.cacheSize` >= 1, `http.idleTimeout` <= 255 s).
 */
import assert from "node:assert/strict";
import { ConfigError } from "../../lib/config/errors.ts";
import { loadConfig } from "../../lib/config/load.ts";
import { presignEndpoint } from "../../lib/config/origins.ts";
import { resolveConfig } from "../../lib/config/resolve.ts";
import type { UserConfig } from "../../lib/config/schema.ts";
import { createOrigins } from "../../lib/origins/origins.ts";
import { silentLogger } from "../../lib/log.ts";

function resolved(doc: Partial<UserConfig>) {
  const r = resolveConfig({ store: "./data", ...doc } as UserConfig, { baseDir: "/srv" });
  if ("problems" in r) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

async function problemOf(flags: { store: string }, doc?: Partial<UserConfig>): Promise<string> {
  const r = doc && resolveConfig({ ...flags, ...doc } as UserConfig, { baseDir: "/srv" });
  if (r) {
    assert.ok("problems" in r, `expected problems for ${JSON.stringify(doc)}`);
    return r.problems.map((p) => `${p.path}: ${p.problem}`).join("\n");
  }
  try {
    await loadConfig({ flags, cwd: "/srv" });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
    assert.equal(e.exitCode, 2);
    return e.message;
  }
  assert.fail(`expected ${JSON.stringify(flags)} to be rejected`);
}

Deno.test("origin URLs: the trailing slash is added once, by config; origins append keys to it", async () => {
  const c = resolved({
    origins: [{ name: "a", url: "https://a.test/reg" }, { name: "b", url: "https://b.test/" }],
  });
  assert.deepEqual(c.origins.map((o) => o.url), ["https://a.test/reg/", "https://b.test/"]);
  // Every origin answers the health check's GET with a marker.
  const fetch = () => Promise.resolve(new Response('{"layout":"static-registry","version":1}'));
  const o = createOrigins({ ...c, log: silentLogger, fetch });
  await o.health.checkAll();
  const d = "sha256:" + "ab".repeat(32);
  assert.equal(await o.locate(d, 1), `https://a.test/reg/blobs/sha256/${"ab".repeat(32)}`);
});

Deno.test("origin URLs with a query or fragment are config errors naming the key", async () => {
  const q = await problemOf({ store: "./data" }, {
    origins: [{ name: "a", url: "https://a.test/reg?x=1" }],
  });
  assert.equal(q, `origins[0].url: must not have a ?query, got "https://a.test/reg?x=1"`);
  const f = await problemOf({ store: "./data" }, {
    origins: [{ name: "a", url: "https://a.test/reg#top" }],
  });
  assert.equal(f, `origins[0].url: must not have a #fragment, got "https://a.test/reg#top"`);
});

Deno.test("store: mistyped URLs are errors naming the value, never a directory", async () => {
  for (
    const text of ["s3//bucket/reg", "S3//bucket", "https//cdn/reg", "s3:/bucket", "s3:bucket"]
  ) {
    const msg = await problemOf({ store: text });
    assert.match(msg, /^--store: expected a directory, s3:\/\/bucket\/prefix or an http\(s\):\/\//);
    assert.ok(msg.includes(`looks like a mistyped URL`), msg);
    assert.ok(msg.endsWith(`got ${JSON.stringify(text)}`), msg);
  }
  // Written as a path, such a directory is still a directory.
  const c = await loadConfig({ flags: { store: "./s3//bucket" }, cwd: "/srv" });
  assert.deepEqual(c.store, { kind: "dir", location: "/srv/s3/bucket", path: "/srv/s3/bucket" });
});

Deno.test("s3: path style and region defaults are decided once, in config", () => {
  assert.deepEqual(resolved({ store: "s3://bkt" }).s3, {
    region: "us-east-1",
    forcePathStyle: false,
  });
  assert.deepEqual(resolved({ store: "s3://bkt", s3: { endpoint: "http://minio:9000" } }).s3, {
    region: "us-east-1",
    forcePathStyle: true,
    endpoint: "http://minio:9000",
  });
  assert.equal(
    resolved({ store: "s3://bkt", s3: { endpoint: "http://m:9000", forcePathStyle: false } }).s3
      .forcePathStyle,
    false,
    "an explicit value wins",
  );
});

Deno.test("presigned origins get their signing settings from config, endpoint checked there", async () => {
  const c = resolved({
    store: "s3://images/reg/",
    s3: { endpoint: "http://s3.internal:9000", accessKeyId: "AK", secretAccessKey: "SK" },
    origins: [{ name: "p", url: "https://s3.public.test", presign: { expires: "90s" } }],
  });
  assert.deepEqual(c.origins[0].presign, {
    expiresMs: 90_000,
    endpoint: "https://s3.public.test",
    bucket: "images",
    prefix: "reg",
    s3: {
      region: "us-east-1",
      forcePathStyle: true,
      endpoint: "http://s3.internal:9000",
      credentials: { accessKeyId: "AK", secretAccessKey: "SK" },
    },
  });
  const bad = await problemOf({ store: "s3://images/reg" }, {
    s3: { endpoint: "http://s3.internal:9000" },
    origins: [{ name: "p", url: "https://s3.public.test/other", presign: { expires: "90s" } }],
  });
  assert.match(bad, /^origins\[0\]\.url: a presigned origin's url is the S3 endpoint/);
});

Deno.test("presignEndpoint() accepts the bare endpoint or the bucket's base URL only", () => {
  const loc = { bucket: "images", prefix: "reg" };
  assert.equal(presignEndpoint("http://h:1/", loc, true), "http://h:1");
  assert.equal(presignEndpoint("http://h:1/images/reg/", loc, true), "http://h:1");
  assert.equal(
    presignEndpoint("https://images.s3.aws.test/reg", loc, false),
    "https://images.s3.aws.test",
  );
  const bad = presignEndpoint("http://h:1/other", loc, true);
  assert.ok(typeof bad !== "string");
  assert.match(bad.problem, /http:\/\/h:1\/images\/reg\), got path "\/other"/);
});
