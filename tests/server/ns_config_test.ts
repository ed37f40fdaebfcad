/**
 * @module
 * Mirror mode needs mounts named after upstream hosts: `docker.io`, `quay.io`,
 * `registry.k8s.io` are valid prefixes (a host name is a repository-name component); a
 * host with a port is not one, and the config says which key.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { loadConfig } from "../../lib/config/load.ts";
import { ConfigError } from "../../lib/config/errors.ts";

async function loadIn(doc: unknown) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "sr-ns-config-"));
  try {
    const file = path.join(dir, "cfg.json");
    await fs.writeFile(file, JSON.stringify(doc));
    return await loadConfig({ file });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

Deno.test("loadConfig() mounts: upstream host names are valid prefixes", async () => {
  const hosts = ["docker.io", "quay.io", "ghcr.io", "registry.k8s.io", "public.ecr.aws"];
  const config = await loadIn({
    store: "./root",
    mounts: hosts.map((prefix) => ({ prefix, store: `./${prefix}` })),
  });
  assert.deepEqual(config.mounts.map((m) => m.prefix), hosts);
});

Deno.test("loadConfig() mounts: a host with a port is refused, naming the key", async () => {
  await assert.rejects(
    () => loadIn({ store: "./root", mounts: [{ prefix: "registry:5000", store: "./r" }] }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /mounts\[0\]\.prefix: expected a repository name.*"registry:5000"/);
      return true;
    },
  );
});
