/**
 * @module
 * `static-registry sync` (the compiled binary) against CNCF distribution with htpasswd
 * Basic auth and with Docker token auth (token_server.ts), credentials from
 * REGISTRY_AUTH_FILE; and through the proxy misbehaving: 429 with Retry-After, 503, a
 * dropped connection and a stalled body (resumed with Range after --timeout).
 */
import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import { distributionAvailable } from "../helpers/distribution.ts";
import { binaryExists } from "../helpers/binary.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { readIndex, runSync, startUpstream, summaryOf } from "./fixture.ts";
import { startTokenServer } from "./token_server.ts";

const ignore = !distributionAvailable() || !binaryExists();
const USER = "alice";
const PASSWORD = "s3cret-Sync!";

async function authFile(dir: string, host: string, password = PASSWORD): Promise<string> {
  const file = `${dir}/auth-${password.length}.json`;
  const auth = btoa(`${USER}:${password}`);
  await Deno.writeTextFile(file, JSON.stringify({ auths: { [host]: { auth } } }));
  return file;
}

Deno.test({
  name: "sync with htpasswd Basic auth: credentials from REGISTRY_AUTH_FILE; a wrong one fails",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "sr-sync-basic-" });
    const htpasswd = `${tmp}/htpasswd`;
    await Deno.writeTextFile(htpasswd, `${USER}:${bcrypt.hashSync(PASSWORD, 5)}\n`);
    const up = await startUpstream(tmp, [{ ref: "src/app:v1" }, { ref: "src/app:v2" }], {
      config: { htpasswd: { realm: "sync-test", path: htpasswd } },
      authorization: () => Promise.resolve(`Basic ${btoa(`${USER}:${PASSWORD}`)}`),
    });
    try {
      const file = `${tmp}/sync.txt`;
      await Deno.writeTextFile(file, `docker://${up.addr}/src/app\n`);
      const store = `${tmp}/store`;
      const bad = await runSync([file, "--to", store], {
        REGISTRY_AUTH_FILE: await authFile(tmp, up.addr, "wrong"),
      });
      assert.equal(bad.code, 1, bad.stdout);
      assert.match(bad.stdout, /failed .*HTTP 401.*REGISTRY_AUTH_FILE/);
      const r = await runSync([file, "--to", store, "--json"], {
        REGISTRY_AUTH_FILE: await authFile(tmp, up.addr),
      });
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal(summaryOf(r).copied, 2);
      const idx = await readIndex(store, "src/app");
      assert.equal(idx!.tags.v2, up.images["src/app:v2"].rootDigest);
      assert.ok(up.proxy.requests.some((q) => q.status === 401), "the upstream did ask");
    } finally {
      await up.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "sync with Docker token auth (distribution + token server): Basic to the realm",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "sr-sync-token-" });
    const tokens = await startTokenServer(tmp, USER, PASSWORD);
    try {
      const up = await startUpstream(tmp, [{ ref: "src/app:v1" }], {
        config: tokens.authConfig(),
        authorization: async (repo) =>
          `Bearer ${await tokens.token(`repository:${repo}:pull,push`)}`,
      });
      try {
        const file = `${tmp}/sync.txt`;
        await Deno.writeTextFile(file, `docker://${up.addr}/src/app token/app\n`);
        const store = `${tmp}/store`;
        const env = { REGISTRY_AUTH_FILE: await authFile(tmp, up.addr) };
        const r = await runSync([file, "--to", store], env);
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.match(r.stdout, /: 1 copied, 0 skipped, 0 failed/);
        const idx = await readIndex(store, "token/app");
        assert.equal(idx!.tags.v1, up.images["src/app:v1"].rootDigest);
        const asked = tokens.requests.filter((q) => q.user === USER);
        assert.ok(asked.length >= 1, JSON.stringify(tokens.requests));
        assert.ok(asked.every((q) => q.scope === "repository:src/app:pull"), JSON.stringify(asked));
        const again = await runSync([file, "--to", store], env);
        assert.match(again.stdout, /: 0 copied, 1 skipped, 0 failed/, again.stderr);
      } finally {
        await up.stop();
      }
    } finally {
      await tokens.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "sync through an upstream that answers 429 and 503, drops and stalls: retried, resumed",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "sr-sync-faults-" });
    const up = await startUpstream(tmp, [
      { ref: "src/big:v1", opts: { layers: 3, layerSize: 300_000 } },
      { ref: "src/other:v1", opts: { layers: 1 } },
    ]);
    try {
      const [l0, l1, l2] = up.images["src/big:v1"].manifests[0].layers.map((l) => l.digest);
      up.proxy.fault = ({ path, n }) => {
        if (n > 1) return undefined;
        if (path === "/v2/src/big/manifests/v1") {
          return { status: 429, headers: { "retry-after": "1" } };
        }
        if (path.startsWith("/v2/src/other/tags/list")) return { status: 503 };
        if (path.endsWith(l0)) return { dropAfter: 20_000 };
        if (path.endsWith(l1)) return { stallAfter: 20_000 };
        if (path.endsWith(l2)) return { status: 502 };
        return undefined;
      };
      const file = `${tmp}/sync.txt`;
      await Deno.writeTextFile(
        file,
        `docker://${up.addr}/src/big:v1\ndocker://${up.addr}/src/other\n`,
      );
      const store = `${tmp}/store`;
      const t0 = performance.now();
      const r = await runSync([file, "--to", store, "--timeout", "1s", "--json"]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const s = summaryOf(r);
      assert.equal(s.copied, 2);
      const took = performance.now() - t0;
      assert.ok(took >= 1000, "Retry-After: 1 was waited for");
      assert.ok(took < 30_000, `--timeout 1s gave up on the stall (not the 60 s default): ${took}`);
      assert.deepEqual(await verifyStore(new DirStore(store), { deep: true }), []);
      const ranged = (d: string) =>
        up.proxy.requests.filter((q) =>
          q.path.endsWith(d) && /^bytes=[1-9][0-9]*-$/.test(q.range ?? "")
        );
      assert.equal(ranged(l0).length, 1, "the dropped body resumed with Range");
      assert.equal(ranged(l1).length, 1, "the stalled body resumed with Range");
      assert.equal(up.proxy.count(new RegExp(`${l2}$`)), 2, "502 then 200");
      assert.equal(up.proxy.count(/^\/v2\/src\/big\/manifests\/v1$/), 2, "429 then 200");
    } finally {
      await up.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
