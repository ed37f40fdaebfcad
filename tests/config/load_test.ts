/**
 * loadConfig() on good configs: defaults, ms durations, absolute store paths, frozen; and
 * the file-level errors (missing file, directory).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { loadConfig, secretKeys } from "../../lib/config/load.ts";
import { ConfigError } from "../../lib/config/errors.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "sr-config-"));
  try {
    await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

Deno.test("loadConfig() names a missing file", async () => {
  await assert.rejects(
    loadConfig({ file: "/nonexistent/cfg.json" }),
    (e: Error) =>
      e instanceof ConfigError &&
      e.message === `cannot read config "/nonexistent/cfg.json": file not found`,
  );
});

Deno.test("loadConfig() names a directory given as the file", async () => {
  await withDir(async (dir) => {
    await assert.rejects(loadConfig({ file: dir }), /is a directory, not a file/);
  });
});

Deno.test("loadConfig() applies the defaults", async () => {
  await withDir(async (dir) => {
    await fs.writeFile(path.join(dir, "cfg.json"), JSON.stringify({ store: "data" }));
    const c = await loadConfig({ file: path.join(dir, "cfg.json"), cwd: "/" });
    assert.deepEqual(c.listen, { hostname: "127.0.0.1", port: 5000 });
    assert.deepEqual(c.health, { intervalMs: 10_000, timeoutMs: 2_000, rise: 2, fall: 2 });
    assert.deepEqual(c.verifyBlobs, { cacheSize: 10_000, negativeTtlMs: 30_000 });
    assert.deepEqual(c.refresh, { intervalMs: 30_000 });
    assert.deepEqual(c.http, { idleTimeoutMs: 30_000 });
    assert.deepEqual(c.log, { level: "info", access: true });
    assert.deepEqual(c.metrics, {});
    assert.deepEqual(c.v1, {});
    assert.deepEqual(c.origins, []);
    assert.deepEqual(c.s3, { region: "us-east-1", forcePathStyle: false });
    assert.equal(c.file, path.join(dir, "cfg.json"));
  });
});

Deno.test("loadConfig() resolves a relative store against the config file, not the cwd", async () => {
  await withDir(async (dir) => {
    await fs.mkdir(path.join(dir, "etc"));
    await fs.writeFile(path.join(dir, "etc", "cfg.json"), JSON.stringify({ store: "../data" }));
    const c = await loadConfig({ file: "etc/cfg.json", cwd: dir });
    assert.deepEqual(c.store, {
      kind: "dir",
      location: path.join(dir, "data"),
      path: path.join(dir, "data"),
    });
  });
});

Deno.test("loadConfig() resolves a --store flag against the cwd", async () => {
  await withDir(async (dir) => {
    await fs.mkdir(path.join(dir, "etc"));
    await fs.writeFile(path.join(dir, "etc", "cfg.json"), JSON.stringify({ store: "../data" }));
    const c = await loadConfig({ file: "etc/cfg.json", cwd: dir, flags: { store: "other" } });
    assert.equal(c.store.kind === "dir" && c.store.path, path.join(dir, "other"));
  });
});

Deno.test("loadConfig() resolves everything, frozen", async () => {
  await withDir(async (dir) => {
    const doc = {
      $schema: "./config.schema.json",
      listen: "[::1]:0",
      store: "s3://my-bucket/some/prefix/",
      s3: {
        endpoint: "http://127.0.0.1:9000",
        forcePathStyle: true,
        accessKeyId: "AK",
        secretAccessKey: "SK",
        lockSettleMs: 2000,
      },
      origins: [
        { name: "cdn-a", url: "https://cdn-a.example.com/registry", verifyBlobs: true },
        {
          name: "bucket",
          url: "http://127.0.0.1:9000/my-bucket/some/prefix/",
          presign: { expires: "15m" },
        },
      ],
      health: { interval: "1m30s", timeout: "500ms", rise: 3, fall: 1 },
      verifyBlobs: { cacheSize: 5, negativeTtl: "0s" },
      refresh: { interval: "1h" },
      v1: { origin: "https://cdn.example.com/v1/" },
      log: { level: "debug" },
      http: { idleTimeout: "2m" },
    };
    await fs.writeFile(path.join(dir, "cfg.json"), JSON.stringify(doc));
    const c = await loadConfig({ file: path.join(dir, "cfg.json") });
    assert.deepEqual(c.listen, { hostname: "::1", port: 0 });
    assert.deepEqual(c.store, {
      kind: "s3",
      location: "s3://my-bucket/some/prefix",
      bucket: "my-bucket",
      prefix: "some/prefix",
      s3: c.s3,
    });
    assert.deepEqual(c.s3, {
      region: "us-east-1",
      endpoint: "http://127.0.0.1:9000",
      forcePathStyle: true,
      credentials: { accessKeyId: "AK", secretAccessKey: "SK" },
      lockSettleMs: 2000,
    });
    assert.deepEqual(c.origins, [
      { name: "cdn-a", url: "https://cdn-a.example.com/registry/", verifyBlobs: true },
      {
        name: "bucket",
        url: "http://127.0.0.1:9000/my-bucket/some/prefix/",
        verifyBlobs: false,
        presign: {
          expiresMs: 900_000,
          endpoint: "http://127.0.0.1:9000",
          bucket: "my-bucket",
          prefix: "some/prefix",
          s3: {
            region: "us-east-1",
            endpoint: "http://127.0.0.1:9000",
            forcePathStyle: true,
            credentials: { accessKeyId: "AK", secretAccessKey: "SK" },
          },
        },
      },
    ]);
    assert.deepEqual(c.health, { intervalMs: 90_000, timeoutMs: 500, rise: 3, fall: 1 });
    assert.deepEqual(c.verifyBlobs, { cacheSize: 5, negativeTtlMs: 0 });
    assert.deepEqual(c.refresh, { intervalMs: 3_600_000 });
    assert.deepEqual(c.v1, { origin: "https://cdn.example.com/v1" });
    assert.deepEqual(c.http, { idleTimeoutMs: 120_000 });
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.origins[0]) && Object.isFrozen(c.health));
  });
});

Deno.test("loadConfig() takes an http(s) store as a base URL", async () => {
  const c = await loadConfig({ flags: { store: "https://cdn.example.com/reg" } });
  assert.deepEqual(c.store, {
    kind: "http",
    location: "https://cdn.example.com/reg/",
    url: "https://cdn.example.com/reg/",
  });
});

Deno.test("loadConfig() without a file or a store is a usage error", async () => {
  await assert.rejects(loadConfig({}), ConfigError);
});

Deno.test("loadConfig() warns about a world-readable file holding secrets, naming it and the keys", async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, "cfg.json");
    const doc = {
      store: "s3://bucket/reg",
      s3: { accessKeyId: "AKIA", secretAccessKey: "shh", region: "eu-west-1" },
      mounts: [{ prefix: "m", store: "https://user:pw@cdn.example/r" }],
      origins: [{ name: "a", url: "https://cdn.example/r" }],
    };
    await fs.writeFile(file, JSON.stringify(doc));
    const load = async (mode: number) => {
      await fs.chmod(file, mode);
      const got: { message: string; file: string; keys: string[] }[] = [];
      await loadConfig({ file, cwd: dir, onWarning: (w) => got.push(w) });
      return got;
    };
    const [w, ...more] = await load(0o644);
    assert.equal(more.length, 0, "one warning per load");
    assert.equal(w.file, file);
    assert.deepEqual(w.keys, ["s3.accessKeyId", "s3.secretAccessKey", "mounts[0].store"]);
    assert.match(w.message, /is readable by every user \(mode 0644\) and holds secrets/);
    assert.ok(!w.message.includes("shh") && !w.message.includes("pw@"), "never the values");
    assert.deepEqual(await load(0o640), [], "not readable by others: no warning");
    await fs.writeFile(file, JSON.stringify({ store: "./data" }));
    assert.deepEqual(await load(0o644), [], "no secret: no warning");
  });
});

Deno.test("secretKeys() names secret values, not the paths of files that hold secrets", () => {
  assert.deepEqual(
    secretKeys({
      auth: { htpasswd: "users.htpasswd", tokenKey: "token.pem", rules: [] },
      tls: { cert: "c.pem", key: "k.pem" },
      s3: { secretAccessKey: "abc", accessKeyId: "AKIA" },
      origins: [{ name: "a", url: "https://u:pw@cdn.test/" }],
    }),
    ["s3.secretAccessKey", "s3.accessKeyId", "origins[0].url"],
  );
});
