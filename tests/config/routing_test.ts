/**
 * @module
 * `routing` and `fallback` in the config: CIDRs normalised, names checked against every
 * origin of the config (root and mounts), and each mistake a ConfigError naming the key.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError } from "../../lib/config/errors.ts";
import { loadConfig } from "../../lib/config/load.ts";
import { resolveConfig } from "../../lib/config/resolve.ts";
import type { UserConfig } from "../../lib/config/schema.ts";

const ORIGINS = [{ name: "cdn-a", url: "https://cdn-a.test" }, {
  name: "dc-mirror",
  url: "http://10.0.0.5:8080",
}];
const MOUNTS = [{
  prefix: "team-a",
  store: "./team-a",
  origins: [{ name: "team-cdn", url: "https://team.test" }],
}];

function resolve(doc: Partial<UserConfig>) {
  return resolveConfig(
    { store: "./data", origins: ORIGINS, mounts: MOUNTS, ...doc } as UserConfig,
    { baseDir: "/srv" },
  );
}

Deno.test("routing: resolved with CIDRs normalised; fallback defaults to none", () => {
  const r = resolve({
    routing: [
      { clients: ["10.1.2.3/16", "FD00::/8", "127.0.0.2"], origins: ["dc-mirror", "team-cdn"] },
      { clients: ["::ffff:10.9.0.0/120"], stream: true },
    ],
  });
  assert.ok("config" in r, JSON.stringify(r));
  assert.deepEqual(r.config.routing, [
    {
      clients: ["10.1.2.3/16", "fd00::/8", "127.0.0.2/32"],
      origins: ["dc-mirror", "team-cdn"],
      stream: false,
    },
    { clients: ["::ffff:a09:0/120"], origins: [], stream: true },
  ]);
  assert.equal(r.config.fallback, "none");
  const plain = resolve({});
  assert.ok("config" in plain);
  assert.equal(plain.config.fallback, "none");
  const s = resolve({ fallback: "stream" });
  assert.ok("config" in s);
  assert.equal(s.config.fallback, "stream");
  assert.deepEqual(s.config.routing, []);
});

const BAD: [string, Partial<UserConfig>, string, RegExp][] = [
  [
    "a bad CIDR",
    { routing: [{ clients: ["10.1.0.0/16", "10.1.0.0/33"], origins: ["cdn-a"] }] },
    "routing[0].clients[1]",
    /expected a CIDR like "10.1.0.0\/16".*got "10.1.0.0\/33"/,
  ],
  [
    "a legacy IPv4 form",
    { routing: [{ clients: ["10.1"], origins: ["cdn-a"] }] },
    "routing[0].clients[0]",
    /got "10.1"/,
  ],
  [
    "an unknown origin name",
    {
      routing: [{ clients: ["10.0.0.0/8"], origins: ["cdn-a"] }, {
        clients: ["::1"],
        origins: ["cdn-a", "cdn-z"],
      }],
    },
    "routing[1].origins[1]",
    /no origin is named "cdn-z" \(origins: "cdn-a", "dc-mirror", "team-cdn"\)/,
  ],
  [
    "a name twice",
    { routing: [{ clients: ["10.0.0.0/8"], origins: ["cdn-a", "cdn-a"] }] },
    "routing[0].origins[1]",
    /"cdn-a" again \(also routing\[0\]\.origins\[0\]\)/,
  ],
  [
    "stream and origins",
    { routing: [{ clients: ["10.0.0.0/8"], origins: ["cdn-a"], stream: true }] },
    "routing[0].stream",
    /either streams or names origins/,
  ],
  [
    "neither",
    { routing: [{ clients: ["10.0.0.0/8"], stream: false }] },
    "routing[0]",
    /needs "origins" or "stream": true/,
  ],
];

Deno.test("routing: each mistake is a problem naming the key", async (t) => {
  for (const [what, doc, key, problem] of BAD) {
    await t.step(what, () => {
      const r = resolve(doc);
      assert.ok("problems" in r, `${what}: accepted`);
      assert.equal(r.problems.length, 1, JSON.stringify(r.problems));
      assert.equal(r.problems[0].path, key);
      assert.match(r.problems[0].problem, problem);
    });
  }
});

Deno.test("routing: loadConfig() refuses a bad rule with a ConfigError (exit 2)", async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "sr-routing-"));
  try {
    const file = path.join(dir, "cfg.json");
    await fs.writeFile(
      file,
      JSON.stringify({
        store: "./data",
        origins: ORIGINS,
        routing: [{ clients: ["10.0.0.0/8"], origins: ["nope"] }],
        fallback: "stream",
      }),
    );
    await assert.rejects(loadConfig({ file, cwd: dir }), (e) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /routing\[0\]\.origins\[0\]: no origin is named "nope"/);
      return true;
    });
    await fs.writeFile(file, JSON.stringify({ store: "./data", fallback: "always" }));
    await assert.rejects(
      loadConfig({ file, cwd: dir }),
      /fallback: expected one of "none", "stream"/,
    );
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
