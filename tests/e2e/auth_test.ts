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
 * treats 127.0.0.0/8 as insecure and still logs in and fetches tokens over it (the TLS
 * side is tests/e2e of the TLS part).
 */
import assert from "node:assert/strict";
import { PullClients } from "../helpers/clients.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { run } from "../helpers/process.ts";
import { AuthPulls, type Creds, startAuthRegistry } from "./auth_clients.ts";
import { publish } from "./fixture.ts";

const ALICE = { user: "alice", password: "alice-pw" };
const BOB = { user: "bob", password: "bob-pw" };
const WRONG = { user: "alice", password: "not-it" };
const CLIENTS = ["skopeo", "podman", "ctr", "docker"] as const;

interface Row {
  what: string;
  ref: string;
  creds: Creds;
  /** Whether the pull must succeed, per scheme. */
  pulls: { bearer: boolean; basic: boolean | Record<Client, boolean> };
}

type Client = typeof CLIENTS[number];

const ROWS: Row[] = [
  // With the Basic scheme `/v2/` challenges anonymous callers (docker login needs it), and
  // the clients that ping `/v2/` first (skopeo, podman, docker) give up there, holding no
  // credentials; ctr never pings. Anonymous pulls of public prefixes by every client need
  // the bearer scheme (the default): docs/AUTH.md.
  {
    what: "anonymous, public prefix",
    ref: "pub/hello:v1",
    creds: undefined,
    pulls: { bearer: true, basic: { skopeo: false, podman: false, ctr: true, docker: false } },
  },
  {
    what: "anonymous, private prefix",
    ref: "team/hello:v1",
    creds: undefined,
    pulls: { bearer: false, basic: false },
  },
  {
    what: "wrong password",
    ref: "team/hello:v1",
    creds: WRONG,
    pulls: { bearer: false, basic: false },
  },
  {
    what: "right user, wrong prefix",
    ref: "team/hello:v1",
    creds: BOB,
    pulls: { bearer: false, basic: false },
  },
  {
    what: "right user, her prefix",
    ref: "team/hello:v1",
    creds: ALICE,
    pulls: { bearer: true, basic: true },
  },
  {
    what: "any user, authenticated prefix",
    ref: "misc/hello:v1",
    creds: BOB,
    pulls: { bearer: true, basic: true },
  },
];

async function htpasswd(file: string): Promise<void> {
  for (const [i, u] of [ALICE, BOB].entries()) {
    const r = await run("htpasswd", [
      ...(i === 0 ? ["-c"] : []),
      "-B",
      "-b",
      file,
      u.user,
      u.password,
    ]);
    assert.equal(r.code, 0, `htpasswd: ${r.stderr}`);
  }
  assert.match(await Deno.readTextFile(file), /^alice:\$2y\$/);
}

Deno.test({
  name: "e2e: the auth matrix with skopeo, podman, ctr and docker, schemes bearer and basic",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-auth-" });
    const clients = await PullClients.create({ budgetMs: 600_000 });
    const pulls = new AuthPulls(clients);
    try {
      const store = `${tmp}/store`;
      await Deno.mkdir(store);
      const image = await makeOciLayout(`${tmp}/src`, { tag: "v1", layers: 2, seed: "e2e-auth" });
      for (const repo of ["pub/hello", "team/hello", "misc/hello"]) {
        await publish(`${tmp}/src`, "v1", `${repo}:v1`, store);
      }
      await htpasswd(`${tmp}/users.htpasswd`);
      for (const scheme of ["bearer", "basic"] as const) {
        const dir = `${tmp}/${scheme}`;
        await Deno.mkdir(dir);
        const reg = await startAuthRegistry(dir, {
          store,
          auth: {
            htpasswd: `${tmp}/users.htpasswd`,
            scheme,
            rules: [
              { prefix: "pub", pull: "anyone" },
              { prefix: "team", pull: ["alice"] },
              { prefix: "", pull: "authenticated" },
            ],
          },
        });
        try {
          for (const row of ROWS) {
            for (const client of CLIENTS) {
              await t.step(`${scheme}: ${client}: ${row.what}`, async () => {
                const got = await pulls[client](reg.addr, row.ref, row.creds);
                const p = row.pulls[scheme];
                const want = typeof p === "boolean" ? p : p[client];
                assert.equal(
                  got.ok,
                  want,
                  `${want ? "refused" : "pulled"}: ${got.out.slice(-1500)}\n` +
                    reg.daemon.logs().slice(-2000),
                );
                if (want) assert.equal(got.digest, image.rootDigest);
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
            const logs = reg.daemon.logs();
            for (const secret of [ALICE.password, BOB.password, WRONG.password, tok.token]) {
              assert.ok(!logs.includes(secret), "a credential reached the log");
            }
            // The access log names the caller (its lines are written in batches, at most
            // 200 ms late: lib/log_sink.ts).
            const accessLines = () =>
              reg.daemon.logs().split("\n").filter((l) => l.includes('"msg":"request"')).map((
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
              assert.ok(!reg.daemon.logs().includes(secret), "a credential reached the log");
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
