/**
 * @module
 * `static-registry check` end to end through main.ts in a subprocess: a config file, a
 * directory store, two real nginx origins (one clean, one missing a layer); table and
 * `--json` output, exit statuses 0 / 1 / 2.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { blobKey } from "../../lib/layout/layout.ts";
import { startNginx } from "../helpers/nginx.ts";
import { writeFixtureStore } from "./store_fixture.ts";

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../main.ts");

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: "null",
    env: { STATIC_REGISTRY_LOG: "warn" },
    signal: AbortSignal.timeout(60_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("check command: exit 0 when clean, 1 with a per-origin report, 2 on usage errors", async () => {
  const base = await Deno.makeTempDir({ prefix: "sr-checkcli-" });
  const fx = await writeFixtureStore(`${base}/store`);
  await fs.cp(`${base}/store`, `${base}/damaged`, { recursive: true });
  await Deno.remove(`${base}/damaged/${blobKey(fx.layer)}`);
  const good = await startNginx({ mode: "static", root: `${base}/store` });
  const bad = await startNginx({ mode: "static", root: `${base}/damaged` });
  const write = async (file: string, origins: unknown[], extra = {}) => {
    await Deno.writeTextFile(
      `${base}/${file}`,
      JSON.stringify({ store: "./store", origins, ...extra }),
    );
    return `${base}/${file}`;
  };
  try {
    const clean = await write("clean.json", [{ name: "good", url: good.url }]);
    let r = await run(["check", "--config", clean]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`checked ${fx.objects.size} objects on 1 origin`));
    assert.match(r.stdout, /\nOK\n$/);

    const both = await write("both.json", [
      { name: "good", url: good.url },
      { name: "bad", url: `${bad.url}/` },
    ]);
    r = await run(["check", "--config", both, "--json", "--concurrency", "3"]);
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.problems.map((
        p: { origin: string; kind: string; digest: string },
      ) => [p.origin, p.kind, p.digest]),
      [["bad", "missing", fx.layer]],
    );
    assert.deepEqual(
      report.origins.map((o: { name: string; missing: number }) => [o.name, o.missing]),
      [
        ["good", 0],
        ["bad", 1],
      ],
    );

    r = await run(["check", "--config", both]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /bad\s+missing\s+sha256:/);

    r = await run(["check"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /check needs --config FILE/);
    r = await run(["check", "--config", clean, "--concurrency", "0"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--concurrency: expected an integer from 1 to 1024, got "0"/);
    // Without origins the store itself is checked (tests/cli/check_store_test.ts).
    const none = await write("none.json", []);
    r = await run(["check", "--config", none]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`checked ${fx.objects.size} objects on 1 store\\(s\\)\n`),
    );
    const typo = await write("typo.json", [{ name: "good", url: good.url }], { helth: {} });
    r = await run(["check", "--config", typo]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /helth/);
  } finally {
    await good.close();
    await bad.close();
    await Deno.remove(base, { recursive: true });
  }
});
