/**
 * @module
 * End-to-end: the COMPILED binary serving HTTPS on [::1], pulled by skopeo, podman, ctr
 * and docker (a private dockerd) by a host name that is not localhost and resolves only
 * to ::1 (an /etc/hosts line added and removed here): dockerd never verifies TLS for a
 * registry resolving into 127.0.0.0/8 (../shared/reference/tls-auth/README.md, quirk 1),
 * so a 127.0.0.1 name would prove nothing for docker. Each client trusts the test CA and
 * nothing else, is first refused without it (certificate signed by an unknown
 * authority), then pulls the published image with the source's digest.
 */
import assert from "node:assert/strict";
import { PullClients } from "../helpers/clients.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { makeCa, makeLeaf } from "../helpers/pki.ts";
import { dockerCa, hostsLine, TlsClients } from "../helpers/tls_clients.ts";
import { startTlsRegistry, type TlsRegistry } from "../helpers/tls_registry.ts";
import { publish } from "./fixture.ts";

/** What an untrusted certificate looks like in each client's error output. */
const UNTRUSTED = /x509: certificate signed by unknown authority|certificate verify failed/;

Deno.test({
  name: "e2e tls: skopeo, podman, ctr and docker pull over HTTPS trusting only the test CA",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-tls-" });
    const host = `sr-tls-${Deno.pid}.test`;
    const cleanups: (() => Promise<void>)[] = [];
    let reg: TlsRegistry | undefined;
    let tls: TlsClients | undefined;
    let pulls: PullClients | undefined;
    try {
      const ca = await makeCa(`${tmp}/ca`);
      const leaf = await makeLeaf(ca, `${tmp}/leaf`, { hosts: [host] });
      const store = `${tmp}/store`;
      const image = await makeOciLayout(`${tmp}/src`, {
        tag: "v1",
        layers: 3,
        layerSize: 64 * 1024,
        seed: "tls-pull",
      });
      await publish(`${tmp}/src`, "v1", "e2e/tls:v1", store);
      reg = await startTlsRegistry(
        `${tmp}`,
        { store, tls: { cert: leaf.certFile, key: leaf.keyFile } },
        ca.caPem,
      );
      cleanups.unshift(await hostsLine("::1", host));
      const addr = `${host}:${reg.port}`;
      const ref = "e2e/tls:v1";
      tls = await TlsClients.create();
      const c = tls;

      const refusedThenPulls = async (
        name: string,
        without: () => Promise<string>,
        withCa: () => Promise<string>,
      ) => {
        await t.step(`${name}: refused without the CA, pulls with it`, async () => {
          await assert.rejects(without(), UNTRUSTED, `${name} without the CA`);
          assert.equal(await withCa(), image.rootDigest, `${name}: pulled digest`);
        });
      };
      await refusedThenPulls(
        "skopeo copy --src-cert-dir",
        () => c.skopeo(addr, ref),
        () => c.skopeo(addr, ref, ca.certDir),
      );
      await refusedThenPulls(
        "podman pull --cert-dir",
        () => c.podman(addr, ref),
        () => c.podman(addr, ref, ca.certDir),
      );
      await refusedThenPulls(
        "ctr images pull (hosts.toml ca =)",
        () => c.ctr(addr, ref),
        () => c.ctr(addr, ref, ca.caPem),
      );

      // docker last: the CA in /etc/docker/certs.d is trusted by skopeo and podman too.
      pulls = await PullClients.create();
      const p = pulls;
      await refusedThenPulls(
        "docker pull (/etc/docker/certs.d)",
        async () => (await p.docker(addr, ref)).id,
        async () => {
          const remove = await dockerCa(addr, ca.caPem);
          cleanups.unshift(remove);
          try {
            const got = await p.docker(addr, ref);
            const digest = got.repoDigests.find((d) => d.startsWith(`${addr}/e2e/tls@`));
            return digest?.slice(digest.indexOf("@") + 1) ?? `none in ${got.repoDigests}`;
          } finally {
            await remove();
            cleanups.splice(cleanups.indexOf(remove), 1);
          }
        },
      );
      await t.step("docker is refused again once the CA is removed", async () => {
        await assert.rejects(p.docker(addr, ref), UNTRUSTED);
      });
    } catch (e) {
      if (reg) console.error(`--- static-registry logs ---\n${reg.logs().slice(-6000)}`);
      if (tls) console.error(tls.logs());
      if (pulls) console.error(pulls.daemonLogs());
      throw e;
    } finally {
      for (const f of cleanups) await f().catch((e) => console.error(`cleanup: ${e}`));
      await pulls?.close();
      await tls?.close();
      await reg?.stop();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});
