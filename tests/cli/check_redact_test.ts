/**
 * `static-registry check` never prints credentials (issue 9, defect 6): with an HTTP store
 * and an origin both at `http://user:s3cr3t@…/`, neither the JSON report, the table, the
 * log lines nor the message of a store that fails hold the password.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { withTempDir, writeStore } from "./fixture.ts";

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../main.ts");
const SECRET = "s3cr3t";

Deno.test("check command: --json and the table redact user-info in store and origin URLs", async () => {
  await withTempDir(async (dir) => {
    const root = path.join(dir, "store");
    await writeStore(root);
    let fail = false;
    const files = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      if (fail) return new Response("boom", { status: 500 });
      try {
        return new Response(await Deno.readFile(path.join(root, new URL(req.url).pathname)));
      } catch {
        return new Response(null, { status: 404 });
      }
    });
    const closed = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response(),
    );
    const dead = closed.addr.port;
    await closed.shutdown();
    try {
      const file = path.join(dir, "cfg.json");
      await fs.writeFile(
        file,
        JSON.stringify({
          store: `http://user:${SECRET}@127.0.0.1:${files.addr.port}/`,
          origins: [{ name: "edge", url: `http://user:${SECRET}@127.0.0.1:${dead}/` }],
        }),
      );
      const run = async (json: boolean) => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", MAIN, "check", "--config", file, ...(json ? ["--json"] : [])],
          stdin: "null",
          env: { STATIC_REGISTRY_LOG: "debug" },
          signal: AbortSignal.timeout(60_000),
        }).output();
        const r = {
          code: out.code,
          stdout: new TextDecoder().decode(out.stdout),
          stderr: new TextDecoder().decode(out.stderr),
        };
        assert.ok(!r.stdout.includes(SECRET), r.stdout);
        assert.ok(!r.stderr.includes(SECRET), r.stderr);
        return r;
      };
      for (const json of [true, false]) {
        const r = await run(json);
        assert.equal(r.code, 1, r.stderr);
        // The dead origin is one finding (unreachable), not one per object.
        if (json) {
          assert.deepEqual(JSON.parse(r.stdout).problems.map((p: { kind: string }) => p.kind), [
            "unreachable",
          ]);
        } else assert.match(r.stdout, /FAILED: 1 problem/);
      }
      // The store fails: the error names the store and the URL, without the password.
      fail = true;
      const r = await run(true);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /http:\/\/\*\*\*@127\.0\.0\.1:\d+\/static-registry\.json: HTTP 500/);
    } finally {
      await files.shutdown();
    }
  });
});
