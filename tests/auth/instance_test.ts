/**
 * startInstance() with `auth`: a bad htpasswd file stops the start (exit status 2), the
 * file is re-read on reload (SIGHUP), a bad new file refuses the reload and the old users
 * keep working, tokens survive a reload, and the load-time warnings are logged.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { AuthFileError } from "../../lib/auth/htpasswd.ts";
import { startInstance } from "../../lib/cli/instance.ts";
import { loadConfig } from "../../lib/config/load.ts";
import { memoryLogger, REPO, TAG, withTempDir, writeStore } from "../cli/fixture.ts";
import { basic, bcryptLine } from "./fixture.ts";

const status = async (url: string, auth?: string) => {
  const res = await fetch(url, { headers: auth ? { Authorization: auth } : {} });
  await res.body?.cancel();
  return res.status;
};

async function setup(dir: string, htpasswd: string, extra: object = {}) {
  await writeStore(path.join(dir, "store"));
  await fs.writeFile(path.join(dir, "users.htpasswd"), htpasswd);
  const file = path.join(dir, "cfg.json");
  await fs.writeFile(
    file,
    JSON.stringify({
      listen: "127.0.0.1:0",
      store: "store",
      auth: {
        htpasswd: "users.htpasswd",
        rules: [{ prefix: "demo", pull: ["alice", "carol"] }],
      },
      ...extra,
    }),
  );
  return file;
}

Deno.test("startInstance() refuses a bad htpasswd file with an exit-2 error", async () => {
  await withTempDir(async (dir) => {
    const file = await setup(dir, "alice:$apr1$x$y\n");
    const { log } = memoryLogger();
    await assert.rejects(
      startInstance(await loadConfig({ file }), { log, reloadConfig: () => loadConfig({ file }) }),
      (e: Error) => e instanceof AuthFileError && e.exitCode === 2 && /line 1/.test(e.message),
    );
  });
});

Deno.test("reload() re-reads the htpasswd file; a bad one is refused and the old users stay", async () => {
  await withTempDir(async (dir) => {
    const file = await setup(dir, bcryptLine("alice", "pw-a") + "\n");
    const { log, lines } = memoryLogger();
    const inst = await startInstance(await loadConfig({ file }), {
      log,
      reloadConfig: () => loadConfig({ file }),
    });
    try {
      const url = `${inst.address.url}/v2/${REPO}/manifests/${TAG}`;
      assert.equal(await status(url), 401);
      assert.equal(await status(url, basic("alice", "pw-a")), 200);
      assert.ok(
        lines.some((l) =>
          l.msg === "auth.rules name users not in the htpasswd file" &&
          JSON.stringify(l.users) === '["carol"]'
        ),
        "carol is named in a rule but not in the file",
      );
      // A token issued before the reload stays valid after it.
      const tok = await (await fetch(`${inst.address.url}/token?scope=repository:${REPO}:pull`, {
        headers: { Authorization: basic("alice", "pw-a") },
      })).json();

      await fs.writeFile(path.join(dir, "users.htpasswd"), "alice:{SHA}abc\n");
      assert.equal(await inst.reload(), false);
      assert.equal(await status(url, basic("alice", "pw-a")), 200, "old users keep working");

      await fs.writeFile(path.join(dir, "users.htpasswd"), bcryptLine("carol", "pw-c") + "\n");
      assert.equal(await inst.reload(), true);
      assert.equal(await status(url, basic("alice", "pw-a")), 401, "alice was removed");
      assert.equal(await status(url, basic("carol", "pw-c")), 200);
      assert.equal(await status(url, `Bearer ${tok.token}`), 401, "alice's token died with her");
      const ctok = await (await fetch(`${inst.address.url}/token?scope=repository:${REPO}:pull`, {
        headers: { Authorization: basic("carol", "pw-c") },
      })).json();
      await fs.writeFile(path.join(dir, "users.htpasswd"), bcryptLine("carol", "pw-c") + "\n");
      assert.equal(await inst.reload(), true);
      assert.equal(await status(url, `Bearer ${ctok.token}`), 200, "tokens survive a reload");
    } finally {
      await inst.stop();
    }
  });
});

Deno.test("startInstance() warns about a restricted prefix behind origins that are not presigned", async () => {
  await withTempDir(async (dir) => {
    const file = await setup(dir, bcryptLine("alice", "pw-a") + "\n", {
      origins: [{ name: "cdn", url: "http://127.0.0.1:9/registry" }],
      health: { interval: "10s", timeout: "100ms" },
    });
    const { log, lines } = memoryLogger();
    const inst = await startInstance(await loadConfig({ file }), {
      log,
      reloadConfig: () => loadConfig({ file }),
    });
    try {
      const w = lines.find((l) => String(l.msg).startsWith("a restricted prefix is served"));
      assert.ok(w, "warned");
      assert.equal(w.prefix, "demo");
      assert.deepEqual(w.origins, ["cdn"]);
    } finally {
      await inst.stop();
    }
  });
});
