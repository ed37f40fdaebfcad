/**
 * @module
 * `static-registry migrate` through the compiled binary: exit codes, the report, and
 * that the served store keeps serving across the upgrade (the serving side is
 * tests/index/refresh_v2_test.ts).
 */
import assert from "node:assert/strict";
import { makeOciLayout } from "../helpers/image.ts";
import { runBinary } from "../helpers/binary.ts";
import { readDoc, withTemp } from "../publish/helpers.ts";
import { encodeDocument } from "../../lib/layout/documents.ts";

Deno.test("static-registry migrate: v1 → v2, idempotent, --dry-run, --json, usage errors exit 2", () =>
  withTemp(async (tmp) => {
    await makeOciLayout(`${tmp}/src`, { tag: "v1" });
    const store = `${tmp}/store`;
    await Deno.mkdir(store, { recursive: true });
    await Deno.writeFile(
      `${store}/static-registry.json`,
      encodeDocument({ layout: "static-registry", version: 1 }),
    );
    for (const name of ["a", "b"]) {
      const r = await runBinary(["publish", `oci:${tmp}/src:v1`, `${name}:v1`, "--to", store]);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal((await readDoc(store, "catalog.json")).version, 1, "publish keeps v1");

    const dry = await runBinary(["migrate", "--store", store, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would migrate from layout version 1 to 2 \(2 repositories\)/);
    assert.equal((await readDoc(store, "catalog.json")).version, 1);

    const done = await runBinary(["migrate", "--store", store, "--json"]);
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual(JSON.parse(done.stdout), {
      store,
      from: 1,
      to: 2,
      repositories: 2,
      changed: true,
      dryRun: false,
    });
    const again = await runBinary(["migrate", "--store", store]);
    assert.match(again.stdout, /already layout version 2 \(2 repositories\)/);

    await Deno.writeTextFile(`${tmp}/cfg.json`, JSON.stringify({ store }));
    const check = await runBinary(["check", "--config", `${tmp}/cfg.json`]);
    assert.equal(check.code, 0, `check after migrate:\n${check.stdout}${check.stderr}`);

    const usage = [
      [["migrate"], /--store/],
      [["migrate", "--store", "http://127.0.0.1:9/x"], /HTTP stores are read-only/],
      [["migrate", "--store", store, "extra"], /migrate takes no arguments, got "extra"/],
    ] as const;
    for (const [args, why] of usage) {
      const r = await runBinary([...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, why);
    }
    const notStore = await runBinary(["migrate", "--store", `${tmp}/src`]);
    assert.equal(notStore.code, 1);
    assert.match(notStore.stderr, /is not a static-registry store/);
  }));
