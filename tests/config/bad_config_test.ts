/**
 * loadConfig() on bad configs: each is a ConfigError (exit 2) naming the file, the exact key
 * path and the problem. One row per mistake people make.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { loadConfig } from "../../lib/config/load.ts";
import { ConfigError } from "../../lib/config/errors.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "sr-config-"));
  try {
    await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function errorFor(doc: unknown, file = "cfg.json"): Promise<string> {
  let message = "";
  await withDir(async (dir) => {
    const p = path.join(dir, file);
    await fs.writeFile(p, typeof doc === "string" ? doc : JSON.stringify(doc));
    try {
      await loadConfig({ file: p, cwd: dir });
      assert.fail(`expected ${JSON.stringify(doc)} to be rejected`);
    } catch (e) {
      assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
      assert.equal(e.exitCode, 2);
      message = e.message.replaceAll(JSON.stringify(p), `"${file}"`);
    }
  });
  return message;
}

const store = "./data";
const BAD: [string, unknown, string][] = [
  [
    "unknown top-level key",
    { store, orgins: [] },
    `config "cfg.json": unknown key "orgins" (did you mean "origins"?)`,
  ],
  [
    "unknown key without a near match",
    { store, zzzzzz: 1 },
    `config "cfg.json": unknown key "zzzzzz" (known keys: $schema, listen, store,`,
  ],
  [
    "unknown key in health",
    { store, health: { intervl: "1s" } },
    `config "cfg.json": health: unknown key "intervl" (did you mean "interval"?)`,
  ],
  [
    "unknown key in s3",
    { store, s3: { regoin: "x" } },
    `config "cfg.json": s3: unknown key "regoin" (did you mean "region"?)`,
  ],
  [
    "unknown key in an origin",
    { store, origins: [{ name: "a", url: "https://a", verify: true }] },
    `config "cfg.json": origins[0]: unknown key "verify"`,
  ],
  ["unknown key in presign", {
    store,
    origins: [{ name: "a", url: "https://a", presign: { expire: "1m" } }],
  }, `config "cfg.json": origins[0].presign: unknown key "expire" (did you mean "expires"?)`],
  [
    "unknown key in verifyBlobs",
    { store, verifyBlobs: { size: 1 } },
    `config "cfg.json": verifyBlobs: unknown key "size"`,
  ],
  [
    "unknown key in refresh",
    { store, refresh: { every: "1s" } },
    `config "cfg.json": refresh: unknown key "every"`,
  ],
  [
    "unknown key in v1",
    { store, v1: { url: "https://x" } },
    `config "cfg.json": v1: unknown key "url"`,
  ],
  [
    "unknown key in log",
    { store, log: { levle: "info" } },
    `config "cfg.json": log: unknown key "levle" (did you mean "level"?)`,
  ],
  [
    "unknown key in http",
    { store, http: { idle: "1s" } },
    `config "cfg.json": http: unknown key "idle"`,
  ],
  [
    "bad duration",
    { store, health: { interval: "ten" } },
    `config "cfg.json": health.interval: expected a duration like "10s", got "ten"`,
  ],
  [
    "duration as a number",
    { store, refresh: { interval: 30 } },
    `config "cfg.json": refresh.interval: expected a duration like "10s", got 30`,
  ],
  [
    "zero duration",
    { store, refresh: { interval: "0s" } },
    `config "cfg.json": refresh.interval: must be at least 1ms, got "0s"`,
  ],
  [
    "timeout not below interval",
    { store, health: { interval: "1s", timeout: "2s" } },
    `config "cfg.json": health.timeout: must be shorter than health.interval (1s), got "2s"`,
  ],
  [
    "rise below 1",
    { store, health: { rise: 0 } },
    `config "cfg.json": health.rise: must be at least 1, got 0`,
  ],
  [
    "fall not an integer",
    { store, health: { fall: 1.5 } },
    `config "cfg.json": health.fall: expected a whole number, got 1.5`,
  ],
  [
    "wrong type for store",
    { store: 5 },
    `config "cfg.json": store: expected a directory path, s3://bucket/prefix or an http(s):// URL, got 5`,
  ],
  ["empty store", { store: "" }, `config "cfg.json": store: must not be empty`],
  ["missing store", {}, `config "cfg.json": store: is required`],
  [
    "unsupported store scheme",
    { store: "ftp://x/y" },
    `config "cfg.json": store: unsupported scheme "ftp://"`,
  ],
  [
    "bad s3 bucket",
    { store: "s3://B" },
    `config "cfg.json": store: expected s3://bucket/prefix with a valid bucket name, got "s3://B"`,
  ],
  [
    "origins not an array",
    { store, origins: {} },
    `config "cfg.json": origins: expected an array, got {}`,
  ],
  [
    "origin url not http",
    { store, origins: [{ name: "a", url: "ftp://x" }] },
    `config "cfg.json": origins[0].url: expected an absolute http(s) URL`,
  ],
  [
    "origin url unparseable",
    { store, origins: [{ name: "a", url: "http://" }] },
    `config "cfg.json": origins[0].url: expected a valid URL, got "http://"`,
  ],
  [
    "origin without url",
    { store, origins: [{ name: "a" }] },
    `config "cfg.json": origins[0].url: is required`,
  ],
  [
    "origin bad name",
    { store, origins: [{ name: "a b", url: "https://a" }] },
    `config "cfg.json": origins[0].name: expected a name of letters`,
  ],
  ["duplicate origin names", {
    store,
    origins: [{ name: "a", url: "https://a" }, { name: "a", url: "https://b" }],
  }, `config "cfg.json": origins[1].name: duplicate origin name "a" (also origins[0].name)`],
  ["presign without s3 store", {
    store,
    origins: [{ name: "a", url: "https://a", presign: { expires: "5m" } }],
  }, `config "cfg.json": origins[0].presign: needs an s3:// store`],
  ["presign too long", {
    store: "s3://bucket/p",
    origins: [{ name: "a", url: "https://a", presign: { expires: "200h" } }],
  }, `config "cfg.json": origins[0].presign.expires: must be at most 7 days, got "200h"`],
  ["verifyBlobs not boolean", {
    store,
    origins: [{ name: "a", url: "https://a", verifyBlobs: "yes" }],
  }, `config "cfg.json": origins[0].verifyBlobs: expected true or false, got "yes"`],
  [
    "bad v1 origin",
    { store, v1: { origin: "cdn.example.com" } },
    `config "cfg.json": v1.origin: expected an absolute http(s) URL`,
  ],
  [
    "bad log level",
    { store, log: { level: "loud" } },
    `config "cfg.json": log.level: expected one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "loud"`,
  ],
  [
    "bad listen (no port)",
    { store, listen: "localhost" },
    `config "cfg.json": listen: expected an address like "127.0.0.1:5000" or "[::1]:5000", got "localhost"`,
  ],
  [
    "bad listen (port range)",
    { store, listen: "127.0.0.1:70000" },
    `config "cfg.json": listen: expected an address like`,
  ],
  [
    "bad listen (v6 without brackets)",
    { store, listen: "::1:5000" },
    `config "cfg.json": listen: expected an address like`,
  ],
  [
    "bad listen (bad v6)",
    { store, listen: "[zz::1]:5000" },
    `config "cfg.json": listen: expected an address like`,
  ],
  [
    "s3 half credentials",
    { store: "s3://bucket", s3: { accessKeyId: "AK" } },
    `config "cfg.json": s3: accessKeyId and secretAccessKey must be given together`,
  ],
  [
    "s3 endpoint not a URL",
    { store: "s3://bucket", s3: { endpoint: "minio:9000" } },
    `config "cfg.json": s3.endpoint: expected an absolute http(s) URL`,
  ],
  [
    "s3 lockSettleMs too small",
    { store: "s3://bucket", s3: { lockSettleMs: 5 } },
    `config "cfg.json": s3.lockSettleMs: `,
  ],
  [
    "verifyBlobs.cacheSize 0 (the cache needs room for one entry)",
    { store, verifyBlobs: { cacheSize: 0 } },
    `config "cfg.json": verifyBlobs.cacheSize: must be at least 1, got 0`,
  ],
  [
    "metrics.listen not an address",
    { store, metrics: { listen: "9090" } },
    `config "cfg.json": metrics.listen: expected an address like "127.0.0.1:9090" or "[::1]:9090", got "9090"`,
  ],
  [
    "metrics.listen the same address as listen",
    { store, listen: "127.0.0.1:5000", metrics: { listen: "127.0.0.1:5000" } },
    `config "cfg.json": metrics.listen: must differ from listen ("127.0.0.1:5000"), got "127.0.0.1:5000"`,
  ],
  [
    "log.access not a boolean",
    { store, log: { access: "yes" } },
    `config "cfg.json": log.access:`,
  ],
  [
    "http.idleTimeout above what Bun.serve accepts",
    { store, http: { idleTimeout: "5m" } },
    `config "cfg.json": http.idleTimeout: must be at most 255s, got "5m"`,
  ],
  // Issue 9 defect 8: a timer cannot wait longer than 2^31-1 ms (it fires after 1 ms).
  [
    "health.interval longer than a timer can wait",
    { store, health: { interval: "600h" } },
    `config "cfg.json": health.interval: must be at most 596h31m23.647s (the longest a ` +
    `timer can wait), got "600h"`,
  ],
  [
    "health.timeout longer than a timer can wait",
    { store, health: { interval: "1s", timeout: "600h" } },
    `config "cfg.json": health.timeout: must be at most 596h31m23.647s`,
  ],
  [
    "refresh.interval one ms longer than a timer can wait",
    { store, refresh: { interval: "596h31m23.648s" } },
    `config "cfg.json": refresh.interval: must be at most 596h31m23.647s`,
  ],
  [
    "verifyBlobs.negativeTtl longer than a timer can wait",
    { store, verifyBlobs: { negativeTtl: "100000h" } },
    `config "cfg.json": verifyBlobs.negativeTtl: must be at most 596h31m23.647s`,
  ],
  [
    "mounts[0].origins[0].presign.expires longer than a timer can wait",
    {
      store,
      mounts: [{
        prefix: "m",
        store: "s3://b/p",
        origins: [{ name: "m", url: "https://m.example/", presign: { expires: "1000000h" } }],
      }],
    },
    `config "cfg.json": mounts[0].origins[0].presign.expires: must be at most 596h31m23.647s`,
  ],
  // Issue 9 defect 9: counts the runtime cannot honour.
  [
    "verifyBlobs.cacheSize above what lru-cache allocates up front",
    { store, verifyBlobs: { cacheSize: 1e12 } },
    `config "cfg.json": verifyBlobs.cacheSize: must be at most 1000000, got 1000000000000`,
  ],
  [
    "health.rise no origin ever reaches",
    { store, health: { rise: 1e300 } },
    `config "cfg.json": health.rise: must be at most 1000, got 1e+300`,
  ],
  [
    "health.fall above the bound",
    { store, health: { fall: 1001 } },
    `config "cfg.json": health.fall: must be at most 1000, got 1001`,
  ],
  [
    "s3.lockSettleMs above its bound says so",
    { store, s3: { lockSettleMs: 60_001 } },
    `config "cfg.json": s3.lockSettleMs: must be at most 60000, got 60001`,
  ],
  [
    "store that is a mistyped s3 URL",
    { store: "s3//bucket/reg" },
    `config "cfg.json": store: expected a directory, s3://bucket/prefix or an http(s):// URL; ` +
    `this looks like a mistyped URL (write "./s3//bucket/reg" for a directory of that name), ` +
    `got "s3//bucket/reg"`,
  ],
  [
    "origin url with a query",
    { store, origins: [{ name: "a", url: "https://a/x?sig=1" }] },
    `config "cfg.json": origins[0].url: must not have a ?query, got "https://a/x?sig=1"`,
  ],
  ["document not an object", [], `config "cfg.json": expected an object, got []`],
  [
    "invalid JSON",
    '{\n  "store": "x",\n  "listen": "a"\n  "log": {}\n}',
    `config "cfg.json": invalid JSON at line 4, column 3: comma expected`,
  ],
  ["trailing comma", '{"store": "x",}', `config "cfg.json": invalid JSON at line 1, column 15:`],
  ["empty file", "  \n", `config "cfg.json": the file is empty`],
];

for (const [what, doc, want] of BAD) {
  Deno.test(`loadConfig() rejects ${what}`, async () => {
    const msg = await errorFor(doc);
    assert.ok(
      msg.startsWith(want) || msg.split("\n").some((l) => l.startsWith(want)),
      `got: ${msg}\nwant: ${want}`,
    );
  });
}

Deno.test("loadConfig() reports every problem, one per line", async () => {
  const msg = await errorFor({ store, health: { interval: "x", timeout: "y" }, listen: 1 });
  assert.equal(msg.split("\n").length, 3, msg);
  assert.match(msg, /health\.interval: /);
  assert.match(msg, /health\.timeout: /);
  assert.match(msg, /listen: /);
});
