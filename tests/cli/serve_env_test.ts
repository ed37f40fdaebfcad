/**
 * The compiled binary's `serve` with no config file (containers, quick starts): from
 * STATIC_REGISTRY_* variables alone, and from flags alone (a flag beating a variable), and
 * exit 2 naming the variable of a bad value. Needs dist/static-registry (scripts/build).
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { binaryPath, runBinary } from "../helpers/binary.ts";
import { freePort } from "../helpers/ports.ts";
import { spawnDaemon } from "../helpers/process.ts";
import { REPO, TAG, withTempDir, writeStore } from "./fixture.ts";

/** Starts `bin serve ARGS` with `env`, waits for /v2/, and returns what it serves. */
async function serveAndProbe(
  args: string[],
  env: Record<string, string>,
  cwd: string,
  port: number,
): Promise<{ digest: string | null; readyz: Record<string, unknown> }> {
  const url = `http://127.0.0.1:${port}`;
  const daemon = await spawnDaemon({
    name: "static-registry serve (no file)",
    cmd: binaryPath(),
    args: ["serve", ...args],
    env,
    cwd,
    ready: async () => {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      return res.status === 200;
    },
  });
  try {
    const res = await fetch(`${url}/v2/${REPO}/manifests/${TAG}`);
    await res.body?.cancel();
    const digest = res.headers.get("docker-content-digest");
    const readyz = await (await fetch(`${url}/readyz`)).json();
    return { digest, readyz };
  } finally {
    await daemon.stop();
  }
}

const originsOf = (readyz: Record<string, unknown>) =>
  (readyz.origins as { origins: { name: string; url: string }[] }).origins
    .map((o) => [o.name, o.url]);

Deno.test({
  name: "binary serve from STATIC_REGISTRY_* variables alone",
  sanitizeResources: false,
  fn: () =>
    withTempDir(async (dir) => {
      const { digest } = await writeStore(path.join(dir, "data"));
      const port = freePort();
      const r = await serveAndProbe(
        [],
        {
          STATIC_REGISTRY_STORE: "data", // relative: starts at the working directory
          STATIC_REGISTRY_LISTEN: `127.0.0.1:${port}`,
          STATIC_REGISTRY_ORIGINS: "cdn=http://127.0.0.1:9/r,http://127.0.0.1:9/s",
          STATIC_REGISTRY_HEALTH_INTERVAL: "1s",
          STATIC_REGISTRY_HEALTH_TIMEOUT: "200ms",
          STATIC_REGISTRY_LOG_LEVEL: "warn",
        },
        dir,
        port,
      );
      assert.equal(r.digest, digest);
      assert.deepEqual(originsOf(r.readyz), [
        ["cdn", "http://127.0.0.1:9/r"],
        ["127.0.0.1-9", "http://127.0.0.1:9/s"],
      ]);
    }),
});

Deno.test({
  name: "binary serve from flags alone; a flag beats the variable",
  sanitizeResources: false,
  fn: () =>
    withTempDir(async (dir) => {
      const { digest } = await writeStore(path.join(dir, "data"));
      const port = freePort();
      const r = await serveAndProbe(
        [
          "--store",
          "./data",
          "--listen",
          `127.0.0.1:${port}`,
          "--origin",
          "edge=http://127.0.0.1:9/e",
          "--origin",
          "http://localhost:9/",
        ],
        { STATIC_REGISTRY_LISTEN: "127.0.0.1:1", STATIC_REGISTRY_ORIGINS: "env=http://x.example/" },
        dir,
        port,
      );
      assert.equal(r.digest, digest);
      assert.deepEqual(originsOf(r.readyz), [
        ["edge", "http://127.0.0.1:9/e"],
        ["localhost-9", "http://localhost:9"],
      ]);
    }),
});

Deno.test("binary serve exits 2 naming the variable or flag of a bad value", async () => {
  await withTempDir(async (dir) => {
    await writeStore(path.join(dir, "data"));
    const env = { STATIC_REGISTRY_STORE: path.join(dir, "data") };
    const bad = await runBinary(["serve"], {
      env: { ...env, STATIC_REGISTRY_HEALTH_INTERVAL: "ten" },
    });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(
      bad.stderr,
      /^static-registry: STATIC_REGISTRY_HEALTH_INTERVAL: expected a duration like "10s", got "ten"/,
    );
    const flag = await runBinary(["serve", "--origin", "cdn=ftp://x/"], { env });
    assert.equal(flag.code, 2, flag.stderr);
    assert.match(flag.stderr, /^static-registry: --origin: expected an absolute http\(s\) URL/);
    const none = await runBinary(["serve"], { env: { STATIC_REGISTRY_STORE: "" } });
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /serve needs --config FILE \(or at least --store STORE or STATIC_/);
  });
});
