/**
 * @module
 * End-to-end, issue 10's "done when": the COMPILED binary with `tls` AND `auth` together,
 * on a host name that is not localhost and resolves only to ::1 (an /etc/hosts line added
 * and removed here: dockerd verifies TLS only for names resolving outside 127.0.0.0/8,
 * ../shared/reference/tls-auth/README.md quirk 1), pulled with credentials by every real
 * client trusting the test CA and nothing else: `docker login` + `docker pull` (private
 * dockerd, /etc/docker/certs.d/HOST:PORT/ca.crt), `skopeo --src-creds --src-cert-dir`,
 * `podman login` + pull with `--cert-dir`, `ctr --user` with hosts.toml `ca =`.
 *
 * For the bearer scheme (the default) and for basic, the auth matrix of
 * tests/e2e/auth_matrix.ts: anonymous on a public and on a private prefix, a wrong password,
 * the right user on the wrong prefix and on hers (the source's digest). The bearer
 * challenge's realm must be `https://HOST:PORT/token` (what docker fetches its token
 * from, trusting the same CA: quirk 5), checked with `curl --cacert`; and no password or
 * token reaches the server log.
 */
import assert from "node:assert/strict";
import { CLIENTS, PullClients } from "../helpers/clients.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { makeCa, makeLeaf } from "../helpers/pki.ts";
import { run } from "../helpers/process.ts";
import { dockerCa, hostsLine } from "../helpers/tls_trust.ts";
import { startTlsRegistry, type TlsRegistry } from "../helpers/tls_registry.ts";
import { ALICE, assertPull, PASSWORDS, ROWS, RULES, wants, writeHtpasswd } from "./auth_matrix.ts";
import { publish } from "./fixture.ts";

// CLIENTS ends with docker: the CA it needs in /etc/docker/certs.d is read by skopeo and
// podman too, so it goes there for docker's rows alone, after theirs.

/** How each client words the registry's 401 or 403 (podman login, docker on a Basic 401). */
const REFUSED =
  /401|403|unauthori[sz]ed|denied|forbidden|invalid username\/password|no basic auth credentials/i;

/** `curl --cacert CA` (only that CA: `--capath /nonexistent` drops the system store). */
function curl(caPem: string, ...args: string[]) {
  return run("curl", ["-sS", "--cacert", caPem, "--capath", "/nonexistent", ...args], {
    timeoutMs: 15_000,
  });
}

Deno.test({
  name: "e2e tls+auth: every client logs in and pulls over HTTPS by a ::1 host name, both schemes",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-tlsauth-" });
    const host = `sr-tlsauth-${Deno.pid}.test`;
    const cleanups: (() => Promise<void>)[] = [];
    const clients = await PullClients.create({ budgetMs: 300_000 });
    let reg: TlsRegistry | undefined;
    try {
      const ca = await makeCa(`${tmp}/ca`);
      const leaf = await makeLeaf(ca, `${tmp}/leaf`, { hosts: [host] });
      const store = `${tmp}/store`;
      await Deno.mkdir(store);
      const image = await makeOciLayout(`${tmp}/src`, { tag: "v1", layers: 2, seed: "tls-auth" });
      for (const repo of ["pub/hello", "team/hello"]) {
        await publish(`${tmp}/src`, "v1", `${repo}:v1`, store);
      }
      await writeHtpasswd(`${tmp}/users.htpasswd`);
      cleanups.unshift(await hostsLine("::1", host));

      for (const scheme of ["bearer", "basic"] as const) {
        const dir = `${tmp}/${scheme}`;
        await Deno.mkdir(dir);
        reg = await startTlsRegistry(
          dir,
          {
            store,
            tls: { cert: leaf.certFile, key: leaf.keyFile },
            auth: {
              htpasswd: `${tmp}/users.htpasswd`,
              scheme,
              rules: RULES,
            },
          },
          ca.caPem,
          { readyPath: "/healthz" },
        );
        const addr = `${host}:${reg.port}`;
        const r = reg;

        let token = "";
        await t.step(`${scheme}: the challenge over HTTPS (curl --cacert)`, async () => {
          const ping = await curl(ca.caPem, "-o", "/dev/null", "-D", "-", `https://${addr}/v2/`);
          assert.equal(ping.code, 0, ping.stderr);
          assert.match(ping.stdout, /^HTTP\/1\.1 401/);
          const challenge = /^www-authenticate: (.*)\r$/im.exec(ping.stdout)?.[1];
          if (scheme === "basic") {
            assert.equal(challenge, 'Basic realm="static-registry"');
            return;
          }
          assert.equal(
            challenge,
            `Bearer realm="https://${addr}/token",service="static-registry"`,
          );
          // The realm is served by the same HTTPS listener, trusting the same CA.
          const realm = `https://${addr}/token?service=static-registry` +
            "&scope=repository:team/hello:pull";
          const got = await curl(ca.caPem, "-u", `${ALICE.user}:${ALICE.password}`, realm);
          assert.equal(got.code, 0, got.stderr);
          token = JSON.parse(got.stdout).token;
          const manifest = await curl(
            ca.caPem,
            ...["-o", "/dev/null", "-w", "%{http_code}"],
            ...["-H", `Authorization: Bearer ${token}`],
            `https://${addr}/v2/team/hello/manifests/v1`,
          );
          assert.equal(manifest.stdout, "200", "the realm's token opens the manifest");
          const untrusted = await run("curl", ["-sS", "--capath", "/nonexistent", realm]);
          assert.equal(untrusted.code, 60, `the realm without the CA: ${untrusted.stderr}`);
        });

        for (const client of CLIENTS) {
          // docker trusts only /etc/docker/certs.d: the CA goes there for its rows alone.
          const removeCa = client === "docker" ? await dockerCa(addr, ca.caPem) : undefined;
          if (removeCa) cleanups.unshift(removeCa);
          try {
            for (const row of ROWS) {
              await t.step(`${scheme}: ${client}: ${row.what}`, async () => {
                const got = await clients.attempt(client, addr, row.ref, {
                  tls: { ca },
                  creds: row.creds,
                });
                assertPull(got, wants(row, scheme, client), image.rootDigest, r.logs(), (out) => {
                  // A refusal must be the registry's 401/403, never a TLS failure.
                  assert.match(out, REFUSED);
                  assert.doesNotMatch(out, /x509|certificate|tls:/i);
                });
              });
            }
          } finally {
            if (removeCa) {
              await removeCa();
              cleanups.splice(cleanups.indexOf(removeCa), 1);
            }
          }
        }

        await t.step(`${scheme}: no password or token in the server log`, () => {
          const logs = r.logs();
          assert.match(logs, /"listening"/);
          for (const s of [...PASSWORDS, ...(token ? [token] : [])]) {
            assert.ok(!logs.includes(s), `a credential reached the log: ${s.slice(0, 12)}…`);
          }
          // Any JWT (header `{"alg"…` → `eyJ`) or Basic credential at all, not only ours.
          assert.doesNotMatch(logs, /eyJ[A-Za-z0-9_-]{10,}\./);
          assert.ok(!logs.includes(btoa(`${ALICE.user}:${ALICE.password}`)));
        });
        await reg.stop();
        reg = undefined;
      }
    } catch (e) {
      if (reg) console.error(`--- static-registry logs ---\n${reg.logs().slice(-6000)}`);
      console.error(clients.daemonLogs());
      throw e;
    } finally {
      for (const f of cleanups) await f().catch((e) => console.error(`cleanup: ${e}`));
      await reg?.stop();
      await clients.close();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});
