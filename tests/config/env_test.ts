/**
 * lib/config/env.ts and the env/flag half of mergeSources(): variable names derived from the
 * schema's key paths, values converted by the key's type, key-by-key precedence inside
 * objects, `[NAME=]URL` origins, and errors that name the variable or flag.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { envKeys, envName, envValue, parseOrigins } from "../../lib/config/env.ts";
import { CONFIG_ENV, loadConfig, mergeSources } from "../../lib/config/load.ts";

Deno.test("envName() joins the key path's words in upper case", () => {
  assert.equal(envName(["listen"]), "STATIC_REGISTRY_LISTEN");
  assert.equal(envName(["health", "interval"]), "STATIC_REGISTRY_HEALTH_INTERVAL");
  assert.equal(envName(["s3", "forcePathStyle"]), "STATIC_REGISTRY_S3_FORCE_PATH_STYLE");
  assert.equal(envName(["http", "idleTimeout"]), "STATIC_REGISTRY_HTTP_IDLE_TIMEOUT");
});

Deno.test("envKeys() covers the scalar keys and leaves out what one variable cannot hold", () => {
  const byPath = new Map(envKeys().map((k) => [k.path, k]));
  for (
    const [p, kind] of [
      ["listen", "string"],
      ["store", "string"],
      ["origins", "origins"],
      ["health.interval", "string"],
      ["health.rise", "integer"],
      ["s3.forcePathStyle", "boolean"],
      ["s3.lockSettleMs", "integer"],
      ["verifyBlobs.cacheSize", "integer"],
      ["refresh.interval", "string"],
      ["v1.origin", "string"],
      ["log.level", "string"],
      ["tls.cert", "string"],
      ["tls.key", "string"],
      ["http.idleTimeout", "string"],
      ["http.trustedProxies", "list"],
      ["rateLimit.perClient", "string"],
      ["rateLimit.burst", "integer"],
    ] as const
  ) assert.equal(byPath.get(p)?.kind, kind, p);
  // mounts is a list of objects; auth needs auth.rules (a list of objects): file only.
  for (const p of byPath.keys()) assert.doesNotMatch(p, /^(mounts|auth|\$schema)/, p);
  assert.equal(CONFIG_ENV.STATIC_REGISTRY_HEALTH_INTERVAL, "health.interval");
  assert.equal(CONFIG_ENV.STATIC_REGISTRY_LOG, "log.level", "the old name keeps working");
});

Deno.test("envValue() converts numerals and booleans, passes anything else through", () => {
  assert.equal(envValue("3", "integer"), 3);
  assert.equal(envValue("three", "integer"), "three");
  assert.equal(envValue("true", "boolean"), true);
  assert.equal(envValue("0", "boolean"), false);
  assert.equal(envValue("maybe", "boolean"), "maybe");
  assert.deepEqual(envValue("10.0.0.0/8, ::1/128,", "list"), ["10.0.0.0/8", "::1/128"]);
  assert.deepEqual(envValue("a=https://a.example/r,https://b.example:8443/", "origins"), [
    { name: "a", url: "https://a.example/r" },
    { name: "b.example-8443", url: "https://b.example:8443/" },
  ]);
});

Deno.test("parseOrigins() names unnamed origins after their host, unique", () => {
  assert.deepEqual(parseOrigins(["https://cdn.example/a", "https://cdn.example/b", "nope"]), [
    { name: "cdn.example", url: "https://cdn.example/a" },
    { name: "cdn.example-2", url: "https://cdn.example/b" },
    { name: "origin-3", url: "nope" },
  ]);
});

Deno.test("mergeSources() fills keys inside the file's objects, never over the file's", () => {
  const { doc, sources } = mergeSources(
    { store: "s", health: { interval: "5s" } },
    {},
    {
      STATIC_REGISTRY_HEALTH_INTERVAL: "1s",
      STATIC_REGISTRY_HEALTH_TIMEOUT: "500ms",
      STATIC_REGISTRY_HEALTH_RISE: "3",
      STATIC_REGISTRY_S3_FORCE_PATH_STYLE: "true",
    },
  );
  assert.deepEqual(doc, {
    store: "s",
    health: { interval: "5s", timeout: "500ms", rise: 3 },
    s3: { forcePathStyle: true },
  });
  assert.deepEqual([...sources.keys()], ["s3.forcePathStyle", "health.timeout", "health.rise"]);
});

Deno.test("mergeSources(): --origin beats the file's origins and the variable", () => {
  const { doc, sources } = mergeSources(
    { store: "s", origins: [{ name: "f", url: "https://f.example/" }] },
    { origins: ["a=https://a.example/", "https://b.example/,https://c.example/"] },
    { STATIC_REGISTRY_ORIGINS: "https://env.example/" },
  );
  assert.deepEqual(doc.origins, [
    { name: "a", url: "https://a.example/" },
    { name: "b.example", url: "https://b.example/" },
    { name: "c.example", url: "https://c.example/" },
  ]);
  assert.equal(sources.get("origins"), "--origin");
});

Deno.test("mergeSources(): TLS files from a variable start at the working directory", () => {
  const { doc } = mergeSources({ store: "s" }, {}, {
    STATIC_REGISTRY_TLS_CERT: "c.pem",
    STATIC_REGISTRY_TLS_KEY: "/abs/k.pem",
  }, "/work/dir");
  assert.deepEqual(doc.tls, { cert: path.resolve("/work/dir", "c.pem"), key: "/abs/k.pem" });
});

Deno.test("loadConfig() runs from variables alone", async () => {
  const c = await loadConfig({
    env: {
      STATIC_REGISTRY_STORE: "data",
      STATIC_REGISTRY_LISTEN: "127.0.0.1:5001",
      STATIC_REGISTRY_ORIGINS: "cdn=https://cdn.example/r",
      STATIC_REGISTRY_REFRESH_INTERVAL: "2m",
      STATIC_REGISTRY_HTTP_TRUSTED_PROXIES: "10.0.0.0/8,::1/128",
    },
    cwd: "/srv",
  });
  assert.equal(c.listen.port, 5001);
  assert.deepEqual({ kind: c.store.kind, path: (c.store as { path: string }).path }, {
    kind: "dir",
    path: "/srv/data",
  });
  assert.deepEqual(c.origins.map((o) => o.name), ["cdn"]);
  assert.equal(c.refresh.intervalMs, 120_000);
});

Deno.test("loadConfig() names the variable of a bad value, and the one a missing key needs", async () => {
  await assert.rejects(
    loadConfig({ env: { STATIC_REGISTRY_STORE: "d", STATIC_REGISTRY_HEALTH_RISE: "many" } }),
    { message: `STATIC_REGISTRY_HEALTH_RISE: expected a whole number, got "many"` },
  );
  await assert.rejects(
    loadConfig({ env: { STATIC_REGISTRY_STORE: "d", STATIC_REGISTRY_ORIGINS: "ftp://x/" } }),
    { message: /^STATIC_REGISTRY_ORIGINS: expected an absolute http\(s\) URL/ },
  );
  await assert.rejects(
    loadConfig({ flags: { store: "d", origins: ["cdn=nope"] } }),
    { message: /^--origin: expected an absolute http\(s\) URL/ },
  );
  await assert.rejects(
    loadConfig({ env: { STATIC_REGISTRY_STORE: "d", STATIC_REGISTRY_TLS_CERT: "c.pem" } }),
    {
      message:
        "config from flags and environment: tls.key: is required (set STATIC_REGISTRY_TLS_KEY)",
    },
  );
  await assert.rejects(loadConfig({ env: {} }), { message: /STATIC_REGISTRY_STORE/ });
});
