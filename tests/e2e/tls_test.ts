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
import { dockerCa, hostsLine } from "../helpers/tls_trust.ts";
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
      pulls = await PullClients.create();
      const c = pulls;
      const trusted = { tls: { ca } };
      const untrusted = { tls: {} };

      const refusedThenPulls = async (
        name: string,
        without: () => Promise<{ digest?: string }>,
        withCa: () => Promise<{ digest?: string }>,
      ) => {
        await t.step(`${name}: refused without the CA, pulls with it`, async () => {
          await assert.rejects(without(), UNTRUSTED, `${name} without the CA`);
          assert.equal((await withCa()).digest, image.rootDigest, `${name}: pulled digest`);
        });
      };
      await refusedThenPulls(
        "skopeo copy --src-cert-dir",
        () => c.skopeoCopy(addr, ref, untrusted),
        () => c.skopeoCopy(addr, ref, trusted),
      );
      await refusedThenPulls(
        "podman pull --cert-dir",
        () => c.podman(addr, ref, untrusted),
        () => c.podman(addr, ref, trusted),
      );
      await refusedThenPulls(
        "ctr images pull (hosts.toml ca =)",
        () => c.ctr(addr, ref, untrusted),
        () => c.ctr(addr, ref, trusted),
      );

      // docker last: the CA in /etc/docker/certs.d is trusted by skopeo and podman too.
      await refusedThenPulls(
        "docker pull (/etc/docker/certs.d)",
        () => c.docker(addr, ref),
        async () => {
          const remove = await dockerCa(addr, ca.caPem);
          cleanups.unshift(remove);
          try {
            return await c.docker(addr, ref);
          } finally {
            await remove();
            cleanups.splice(cleanups.indexOf(remove), 1);
          }
        },
      );
      await t.step("docker is refused again once the CA is removed", async () => {
        await assert.rejects(c.docker(addr, ref), UNTRUSTED);
      });
    } catch (e) {
      if (reg) console.error(`--- static-registry logs ---\n${reg.logs().slice(-6000)}`);
      if (pulls) console.error(pulls.daemonLogs());
      throw e;
    } finally {
      for (const f of cleanups) await f().catch((e) => console.error(`cleanup: ${e}`));
      await pulls?.close();
      await reg?.stop();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});
