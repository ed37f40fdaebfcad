/**
 * @module
 * End-to-end containerd mirror mode through the COMPILED binary: one server, two
 * directory stores mounted at `docker.io` and `quay.io`, each holding a different image
 * as `library/x:v1`, and a third `library/x:v1` in the root store as a decoy. containerd's
 * `ctr` with a hosts.toml per upstream that points at the server pulls
 * `docker.io/library/x:v1` and `quay.io/library/x:v1`; containerd appends `?ns=<upstream>`
 * to every request it sends to a mirror, so each pull must get its own upstream's digest
 * and never the root's (which is what the same path without `ns` serves).
 */
import assert from "node:assert/strict";
import { runBinary, startRegistry } from "../helpers/binary.ts";
import { PullClients } from "../helpers/clients.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { run } from "../helpers/process.ts";

async function publish(layout: string, ref: string, store: string): Promise<void> {
  const r = await runBinary(["publish", `oci:${layout}:v1`, ref, "--to", store]);
  assert.equal(r.code, 0, `publish ${ref} → ${store} exited ${r.code}:\n${r.stderr}`);
}

/** hosts.toml for `upstream`: the mirror (plain HTTP, pull + resolve) before `server`. */
async function hostsToml(
  dir: string,
  upstream: string,
  mirror: string,
  server = `https://${upstream}`,
): Promise<void> {
  await Deno.mkdir(`${dir}/${upstream}`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/${upstream}/hosts.toml`,
    [
      `server = "${server}"`,
      "",
      `[host."http://${mirror}"]`,
      `  capabilities = ["pull", "resolve"]`,
      "",
    ].join("\n"),
  );
}

Deno.test({
  name: "e2e: mirror mode — ctr pulls docker.io/… and quay.io/… from one server via hosts.toml",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-mirror-" });
    let reg: Awaited<ReturnType<typeof startRegistry>> | undefined;
    let clients: PullClients | undefined;
    try {
      const stores = { root: `${tmp}/root`, docker: `${tmp}/docker.io`, quay: `${tmp}/quay.io` };
      const images = {
        root: await makeOciLayout(`${tmp}/src-root`, { tag: "v1", seed: "mirror-root" }),
        docker: await makeOciLayout(`${tmp}/src-docker`, { tag: "v1", seed: "mirror-docker" }),
        quay: await makeOciLayout(`${tmp}/src-quay`, { tag: "v1", seed: "mirror-quay" }),
      };
      for (const k of ["root", "docker", "quay"] as const) {
        await Deno.mkdir(stores[k]);
        await publish(`${tmp}/src-${k}`, "library/x:v1", stores[k]);
      }
      const digests = new Set(Object.values(images).map((i) => i.rootDigest));
      assert.equal(digests.size, 3, "three different images");

      reg = await startRegistry({
        config: {
          store: stores.root,
          mounts: [
            { prefix: "docker.io", store: stores.docker },
            { prefix: "quay.io", store: stores.quay },
          ],
        },
      });
      const url = reg.url;

      await t.step("the same path with and without ns: three repositories", async () => {
        const want = [
          ["", images.root],
          ["?ns=docker.io", images.docker],
          ["?ns=quay.io", images.quay],
        ] as const;
        for (const [q, image] of want) {
          const res = await fetch(`${url}/v2/library/x/manifests/v1${q}`, { method: "HEAD" });
          assert.equal(res.status, 200, q);
          assert.equal(res.headers.get("docker-content-digest"), image.rootDigest, q);
        }
      });

      clients = await PullClients.create();
      const sock = await clients.containerdSocket();
      const hostsDir = `${tmp}/certs.d`;
      await hostsToml(hostsDir, "docker.io", reg.addr);
      await hostsToml(hostsDir, "quay.io", reg.addr);

      let n = 0;
      const pull = async (ref: string) => {
        const ns = `mirror${++n}`;
        const base = ["-a", sock, "-n", ns];
        const r = await run("ctr", [...base, "images", "pull", "--hosts-dir", hostsDir, ref], {
          timeoutMs: 60_000,
        });
        assert.equal(r.code, 0, `ctr pull ${ref}:\n${r.stderr}\n${reg?.logs().slice(-2000)}`);
        const ls = await run("ctr", [...base, "images", "ls"], { timeoutMs: 10_000 });
        const row = ls.stdout.split("\n").map((l) => l.trim().split(/\s+/)).find((c) =>
          c[0] === ref
        );
        assert.ok(row, `ctr images ls has no row for ${ref}:\n${ls.stdout}`);
        return row[2];
      };

      await t.step("ctr pulls docker.io/library/x:v1 from the docker.io mount", async () => {
        assert.equal(await pull("docker.io/library/x:v1"), images.docker.rootDigest);
      });
      await t.step("ctr pulls quay.io/library/x:v1 from the quay.io mount", async () => {
        assert.equal(await pull("quay.io/library/x:v1"), images.quay.rootDigest);
      });
      await t.step("an upstream no mount serves fails, never the root's library/x", async () => {
        // The fallback `server` is a closed port, so after the mirror's 404 the pull ends.
        await hostsToml(hostsDir, "ghcr.io", reg!.addr, "http://127.0.0.1:9");
        const r = await run("ctr", [
          ...["-a", sock, "-n", "mirror-ghcr", "images", "pull"],
          ...["--hosts-dir", hostsDir, "ghcr.io/library/x:v1"],
        ], { timeoutMs: 60_000 });
        assert.notEqual(r.code, 0, `ctr pulled ghcr.io/library/x:v1:\n${r.stdout}`);
        assert.match(r.stderr, /not found|127\.0\.0\.1:9/, r.stderr);
      });
    } finally {
      await clients?.close();
      await reg?.stop();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});
