/**
 * loadConfig() for `auth`, `rateLimit` and `http.trustedProxies`: resolved values, and a
 * ConfigError naming the key for every bad value.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError } from "../../lib/config/errors.ts";
import { loadConfig } from "../../lib/config/load.ts";

async function load(doc: unknown): Promise<{ dir: string; result: unknown }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "sr-authcfg-"));
  const file = path.join(dir, "cfg.json");
  await fs.writeFile(file, JSON.stringify(doc));
  try {
    return { dir, result: await loadConfig({ file }) };
  } catch (e) {
    return { dir, result: e };
  } finally {
    await fs.rm(dir, { recursive: true });
  }
}

const auth = { htpasswd: "users.htpasswd", rules: [{ prefix: "", pull: "authenticated" }] };

Deno.test("loadConfig() resolves auth, rateLimit and trustedProxies", async () => {
  const { dir, result } = await load({
    store: "./data",
    auth: { ...auth, tokenKey: "k.pem", tokenTtl: "2m" },
    rateLimit: { perClient: "600/m" },
    http: { trustedProxies: ["10.0.0.0/8", "::1"] },
  });
  // deno-lint-ignore no-explicit-any
  const c = result as any;
  assert.deepEqual(c.auth, {
    htpasswd: path.join(dir, "users.htpasswd"),
    scheme: "bearer",
    rules: [{ prefix: "", pull: "authenticated" }],
    tokenTtlMs: 120_000,
    tokenKey: path.join(dir, "k.pem"),
  });
  assert.deepEqual(c.rateLimit, { perSecond: 10, burst: 10 });
  assert.deepEqual(c.http.trustedProxies, ["10.0.0.0/8", "::1/128"]);
  const plain = (await load({ store: "./data" })).result as typeof c;
  assert.equal(plain.auth, undefined);
  assert.equal(plain.rateLimit, undefined);
  assert.equal(plain.http.trustedProxies, undefined);
});

const BAD: [string, unknown, RegExp][] = [
  [
    "bad scheme",
    { auth: { ...auth, scheme: "digest" } },
    /auth\.scheme: expected one of "bearer", "basic", got "digest"/,
  ],
  ["no rules", { auth: { ...auth, rules: [] } }, /auth\.rules: expected a list of rules/],
  [
    "bad prefix",
    { auth: { ...auth, rules: [{ prefix: "Team", pull: "anyone" }] } },
    /auth\.rules\[0\]\.prefix: expected a repository name/,
  ],
  [
    "bad pull",
    { auth: { ...auth, rules: [{ prefix: "", pull: "everyone" }] } },
    /auth\.rules\[0\]\.pull: expected "anyone", "authenticated" or a list/,
  ],
  [
    "repeated prefix",
    { auth: { ...auth, rules: [{ prefix: "a", pull: "anyone" }, { prefix: "a", pull: ["x"] }] } },
    /auth\.rules\[1\]\.prefix: prefix "a" again \(also auth\.rules\[0\]\)/,
  ],
  ["missing htpasswd", { auth: { rules: auth.rules } }, /auth\.htpasswd: is required/],
  [
    "token ttl too long",
    { auth: { ...auth, tokenTtl: "2h" } },
    /auth\.tokenTtl: must be between 1s and 1h, got "2h"/,
  ],
  [
    "bad rate",
    { rateLimit: { perClient: "50/x" } },
    /rateLimit\.perClient: expected a rate like "50\/s"/,
  ],
  ["zero rate", { rateLimit: { perClient: "0/s" } }, /rateLimit\.perClient: must be above 0/],
  [
    "zero burst",
    { rateLimit: { perClient: "5/s", burst: 0 } },
    /rateLimit\.burst: must be at least 1/,
  ],
  [
    "bad CIDR",
    { http: { trustedProxies: ["10.0.0.0/8", "10.0.0/33"] } },
    /http\.trustedProxies\[1\]: expected a CIDR like "10\.0\.0\.0\/8".*got "10\.0\.0\/33"/,
  ],
];

for (const [what, doc, want] of BAD) {
  Deno.test(`loadConfig() refuses ${what}, naming the key`, async () => {
    const { result } = await load({ store: "./data", ...(doc as object) });
    assert.ok(result instanceof ConfigError, `not refused: ${JSON.stringify(result)}`);
    assert.match((result as Error).message, want);
  });
}
