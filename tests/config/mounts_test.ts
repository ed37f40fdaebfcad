/**
 * loadConfig() with `mounts` (federation): prefixes, stores resolved against the config
 * file, per-mount origins and S3 settings over the top-level ones; and the mistakes, each
 * named by its key path.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { loadConfig } from "../../lib/config/load.ts";
import { storesOf } from "../../lib/config/mounts.ts";
import { ConfigError } from "../../lib/config/errors.ts";

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "sr-config-"));
  try {
    return await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function load(doc: unknown, cwd = "/") {
  return await withDir(async (dir) => {
    await fs.mkdir(path.join(dir, "etc"));
    const file = path.join(dir, "etc", "cfg.json");
    await fs.writeFile(file, JSON.stringify(doc));
    return { dir, config: await loadConfig({ file, cwd }) };
  });
}

async function errorFor(doc: unknown): Promise<string> {
  return await withDir(async (dir) => {
    const file = path.join(dir, "cfg.json");
    await fs.writeFile(file, JSON.stringify(doc));
    try {
      await loadConfig({ file });
    } catch (e) {
      assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
      return e.message.replaceAll(JSON.stringify(file), `"cfg.json"`);
    }
    return assert.fail(`expected ${JSON.stringify(doc)} to be rejected`);
  });
}

Deno.test("loadConfig() without mounts has mounts: [] and storesOf() is the root alone", async () => {
  const { config } = await load({ store: "data" });
  assert.deepEqual(config.mounts, []);
  const stores = storesOf(config);
  assert.equal(stores.length, 1);
  assert.equal(stores[0].prefix, "");
  assert.equal(stores[0].store, config.store);
});

Deno.test("loadConfig() resolves mounts: relative stores against the file, origins, S3 over the top level", async () => {
  const { dir, config } = await load({
    store: "../root",
    s3: {
      endpoint: "http://127.0.0.1:9000",
      region: "eu-1",
      accessKeyId: "A",
      secretAccessKey: "S",
    },
    origins: [{ name: "cdn", url: "https://cdn.example.com/root" }],
    mounts: [
      { prefix: "team-a", store: "../a", origins: [{ name: "cdn-a", url: "https://a.example/x" }] },
      { prefix: "org/team-b", store: "s3://bucket-b/reg", s3: { region: "us-west-2" } },
      { prefix: "c", store: "s3://bucket-c", s3: { accessKeyId: "C", secretAccessKey: "CS" } },
      { prefix: "d", store: "https://d.example/reg" },
    ],
  });
  const [a, b, c, d] = config.mounts;
  assert.deepEqual(a, {
    prefix: "team-a",
    store: { kind: "dir", location: path.join(dir, "a"), path: path.join(dir, "a") },
    s3: config.s3,
    origins: [{ name: "cdn-a", url: "https://a.example/x/", verifyBlobs: false }],
  });
  // region overridden, endpoint and credentials inherited
  assert.deepEqual(b.s3, {
    region: "us-west-2",
    forcePathStyle: true,
    endpoint: "http://127.0.0.1:9000",
    credentials: { accessKeyId: "A", secretAccessKey: "S" },
  });
  assert.equal(b.store.kind === "s3" && b.store.bucket, "bucket-b");
  assert.deepEqual(b.origins, []);
  // own credentials replace the top-level ones as a unit
  assert.deepEqual(c.s3.credentials, { accessKeyId: "C", secretAccessKey: "CS" });
  assert.equal(c.s3.region, "eu-1");
  assert.deepEqual(d.store, {
    kind: "http",
    location: "https://d.example/reg/",
    url: "https://d.example/reg/",
  });
  assert.deepEqual(storesOf(config).map((m) => m.prefix), ["", "team-a", "org/team-b", "c", "d"]);
  assert.ok(Object.isFrozen(config.mounts) && Object.isFrozen(a.origins[0]));
});

Deno.test("loadConfig() mounts: sibling prefixes that share a first segment are fine", async () => {
  const { config } = await load({
    store: "r",
    mounts: [{ prefix: "org/a", store: "a" }, { prefix: "org/ab", store: "ab" }],
  });
  assert.deepEqual(config.mounts.map((m) => m.prefix), ["org/a", "org/ab"]);
});

const store = "./data";
const BAD: [string, unknown, string][] = [
  ["mounts not an array", { store, mounts: {} }, `mounts: expected an array, got {}`],
  [
    "mount without a store",
    { store, mounts: [{ prefix: "a" }] },
    `mounts[0].store: is required`,
  ],
  [
    "mount without a prefix",
    { store, mounts: [{ store: "x" }] },
    `mounts[0].prefix: is required`,
  ],
  [
    "unknown key in a mount",
    { store, mounts: [{ prefix: "a", store: "x", orgins: [] }] },
    `mounts[0]: unknown key "orgins" (did you mean "origins"?)`,
  ],
  [
    "uppercase prefix",
    { store, mounts: [{ prefix: "Team", store: "x" }] },
    `mounts[0].prefix: expected a repository name like "team-a" or "org/team-b" (lowercase), got "Team"`,
  ],
  [
    "prefix with a trailing slash",
    { store, mounts: [{ prefix: "team/", store: "x" }] },
    `mounts[0].prefix: expected a repository name`,
  ],
  [
    "prefix too long",
    { store, mounts: [{ prefix: "a".repeat(256), store: "x" }] },
    `mounts[0].prefix: longer than 255 characters`,
  ],
  [
    "duplicate prefix",
    { store, mounts: [{ prefix: "a", store: "x" }, { prefix: "a", store: "y" }] },
    `mounts[1].prefix: duplicate prefix "a" (also mounts[0].prefix)`,
  ],
  [
    "nested prefixes",
    { store, mounts: [{ prefix: "a/b", store: "x" }, { prefix: "a", store: "y" }] },
    `mounts[1].prefix: "a" and mounts[0].prefix "a/b" are nested`,
  ],
  [
    "bad mount store scheme",
    { store, mounts: [{ prefix: "a", store: "ftp://x" }] },
    `mounts[0].store: unsupported scheme "ftp://"`,
  ],
  [
    "origin name used by the root and a mount",
    {
      store,
      origins: [{ name: "cdn", url: "https://a" }],
      mounts: [{ prefix: "a", store: "x", origins: [{ name: "cdn", url: "https://b" }] }],
    },
    `mounts[0].origins[0].name: duplicate origin name "cdn" (also origins[0].name)`,
  ],
  [
    "bad mount origin URL",
    { store, mounts: [{ prefix: "a", store: "x", origins: [{ name: "o", url: "http://" }] }] },
    `mounts[0].origins[0].url: expected a valid URL, got "http://"`,
  ],
  [
    "presign on a mount whose store is not s3",
    {
      store: "s3://bucket",
      mounts: [{
        prefix: "a",
        store: "x",
        origins: [{ name: "o", url: "https://o", presign: { expires: "1m" } }],
      }],
    },
    `mounts[0].origins[0].presign: needs an s3:// store, but the store is "x"`,
  ],
  [
    "half credentials in a mount",
    { store, mounts: [{ prefix: "a", store: "s3://bkt", s3: { accessKeyId: "A" } }] },
    `mounts[0].s3: accessKeyId and secretAccessKey must be given together`,
  ],
  [
    "bad mount s3 endpoint",
    { store, mounts: [{ prefix: "a", store: "s3://bkt", s3: { endpoint: "http://" } }] },
    `mounts[0].s3.endpoint: expected a valid URL, got "http://"`,
  ],
  [
    "unknown key in a mount's s3",
    { store, mounts: [{ prefix: "a", store: "s3://bkt", s3: { regoin: "x" } }] },
    `mounts[0].s3: unknown key "regoin" (did you mean "region"?)`,
  ],
];

for (const [what, doc, want] of BAD) {
  Deno.test(`loadConfig() rejects ${what}`, async () => {
    const msg = await errorFor(doc);
    assert.ok(
      msg.split("\n").some((l) => l.startsWith(`config "cfg.json": ${want}`)),
      `got: ${msg}\nwant: config "cfg.json": ${want}`,
    );
  });
}

Deno.test("loadConfig() reports a bad inherited top-level s3 value once, at s3.…", async () => {
  const msg = await errorFor({
    store,
    s3: { endpoint: "http://" },
    mounts: [{ prefix: "a", store: "s3://bkt", s3: { region: "x" } }],
  });
  assert.equal(msg, `config "cfg.json": s3.endpoint: expected a valid URL, got "http://"`);
});
