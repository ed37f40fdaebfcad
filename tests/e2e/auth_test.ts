/**
 * @module
 * End-to-end: pull access control of the COMPILED binary with the real clients, for both
 * challenge schemes — `skopeo copy --src-creds`, `podman login` + pull, `ctr --user`,
 * `docker login` + pull (private dockerd). The matrix: anonymous on a public prefix and
 * on a private one, a wrong password, the right user on the wrong prefix, the right user
 * on hers (the digest must be the published one). Then over HTTP against the same
 * binary: the challenge's realm follows the Host the client used, catalog filtering, and
 * a token for another repository. The htpasswd file is made by `htpasswd -B`
 * (apache2-utils), as an operator would.
 *
 * Setup: plain HTTP on 127.0.0.1, the simplest one that runs the real flows: docker
 * treats 127.0.0.0/8 as insecure and still logs in and fetches tokens over it (the HTTPS
 * side is tests/e2e/tls_auth_test.ts; the matrix is tests/e2e/auth_matrix.ts).
 */
import assert from "node:assert/strict";
import { startRegistry } from "../helpers/binary.ts";
import { CLIENTS, PullClients } from "../helpers/clients.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { run } from "../helpers/process.ts";
import {
  ALICE,
  assertPull,
  BOB,
  PASSWORDS,
  type Row,
  ROWS,
  RULES,
  wants,
  writeHtpasswd,
} from "./auth_matrix.ts";
import { publish } from "./fixture.ts";

/** The shared matrix, and a prefix any signed-in user may pull. */
const AUTH_ROWS: Row[] = [...ROWS, {
  what: "any user, authenticated prefix",
  ref: "misc/hello:v1",
  creds: BOB,
  pulls: { bearer: true, basic: true },
}];

Deno.test({
  name: "e2e: the auth matrix with skopeo, podman, ctr and docker, schemes bearer and basic",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-auth-" });
    const clients = await PullClients.create({ budgetMs: 600_000 });
    try {
      const store = `${tmp}/store`;
      await Deno.mkdir(store);
      const image = await makeOciLayout(`${tmp}/src`, { tag: "v1", layers: 2, seed: "e2e-auth" });
      for (const repo of ["pub/hello", "team/hello", "misc/hello"]) {
        await publish(`${tmp}/src`, "v1", `${repo}:v1`, store);
      }
      await writeHtpasswd(`${tmp}/users.htpasswd`);
      for (const scheme of ["bearer", "basic"] as const) {
        const reg = await startRegistry({
          config: {
            store,
            auth: {
              htpasswd: `${tmp}/users.htpasswd`,
              scheme,
              rules: [...RULES, { prefix: "", pull: "authenticated" }],
            },
          },
          // An auth-enabled registry never answers /v2/ 200 anonymously.
          readyPath: "/healthz",
        });
        try {
          for (const row of AUTH_ROWS) {
            for (const client of CLIENTS) {
              await t.step(`${scheme}: ${client}: ${row.what}`, async () => {
                const got = await clients.attempt(client, reg.addr, row.ref, { creds: row.creds });
                assertPull(got, wants(row, scheme, client), image.rootDigest, reg.logs());
              });
            }
          }
          await t.step(`${scheme}: HTTP: challenge, catalog, token scope`, async () => {
            // fetch() may not set Host: curl sends the name a client would have used.
            const base = await run("curl", [
              "-s",
              "-o",
              "/dev/null",
              "-D",
              "-",
              "-H",
              "Host: registry.test:5000",
              `${reg.url}/v2/`,
            ]);
            assert.match(base.stdout, /^HTTP\/1\.1 401/);
            assert.equal(
              /^www-authenticate: (.*)\r$/im.exec(base.stdout)?.[1],
              scheme === "basic"
                ? 'Basic realm="static-registry"'
                : 'Bearer realm="http://registry.test:5000/token",service="static-registry"',
            );
            const basic = (c: { user: string; password: string }) => ({
              Authorization: `Basic ${btoa(`${c.user}:${c.password}`)}`,
            });
            const catalog = async (h: Record<string, string>) =>
              (await (await fetch(`${reg.url}/v2/_catalog`, { headers: h })).json()).repositories;
            assert.deepEqual(await catalog({}), ["pub/hello"]);
            assert.deepEqual(await catalog(basic(BOB)), ["misc/hello", "pub/hello"]);
            assert.deepEqual(await catalog(basic(ALICE)), [
              "misc/hello",
              "pub/hello",
              "team/hello",
            ]);
            const tok = await (await fetch(`${reg.url}/token?scope=repository:team/hello:pull`, {
              headers: basic(ALICE),
            })).json();
            const other = await fetch(`${reg.url}/v2/misc/hello/manifests/v1`, {
              headers: { Authorization: `Bearer ${tok.token}` },
            });
            await other.body?.cancel();
            assert.equal(other.status, 401, "a token for another repository");
            // The scheme picks the challenge, whichever credential was sent.
            assert.match(
              other.headers.get("www-authenticate") ?? "",
              scheme === "bearer" ? /error="insufficient_scope"/ : /^Basic realm=/,
            );
            const logs = reg.logs();
            for (const secret of [...PASSWORDS, tok.token]) {
              assert.ok(!logs.includes(secret), "a credential reached the log");
            }
            // The access log names the caller (its lines are written in batches, at most
            // 200 ms late: lib/log_sink.ts).
            const accessLines = () =>
              reg.logs().split("\n").filter((l) => l.includes('"msg":"request"')).map((
                l,
              ) => JSON.parse(l));
            const deadline = Date.now() + 3000;
            const named = (l: Record<string, string>) =>
              l.path.startsWith("/token?") && l.user === "alice";
            while (!accessLines().some(named) && Date.now() < deadline) {
              await new Promise((r) => setTimeout(r, 50));
            }
            const access = accessLines();
            assert.ok(access.some(named), "the /token line names alice");
            assert.ok(
              access.some((l) => l.path === "/v2/misc/hello/manifests/v1" && l.status === 401),
            );
            for (const secret of [ALICE.password, tok.token]) {
              assert.ok(!reg.logs().includes(secret), "a credential reached the log");
            }
          });
        } finally {
          await reg.stop();
        }
      }
    } catch (e) {
      console.error(clients.daemonLogs());
      throw e;
    } finally {
      await clients.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
