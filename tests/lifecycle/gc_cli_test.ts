/**
 * @module
 * `static-registry gc` as a user runs it: the refusals through main() (exit 2 naming the
 * flag or the store), then the compiled binary on a directory store: its text and JSON
 * reports, and exit 1 on an abort.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { repoIndexKey } from "../../lib/layout/keys.ts";
import { main } from "../../lib/cli/main.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { runBinary } from "../helpers/binary.ts";
import { snapshot, withTemp } from "../publish/helpers.ts";
import { age, blobKeys, makeGarbage } from "./gc_fixture.ts";

const DAY = 24 * 3_600_000;

Deno.test("gc refuses bad usage with exit 2, naming the flag or the store", () =>
  withTemp(async (tmp) => {
    const cases: [string[], RegExp][] = [
      [[], /--store <store> is required/],
      [["--store", tmp, "--grace", "1m"], /--grace: at least 10m .*--grace-unsafe/],
      [["--store", tmp, "--grace", "soon"], /--grace: expected a duration.*"soon"/],
      [["--store", tmp, "extra"], /gc takes no arguments, got "extra"/],
      [["--store", tmp, "--force"], /unknown flag "--force"/],
      [["--store", "http://127.0.0.1:9/reg"], /--store http:\/\/127\.0\.0\.1:9\/reg.*read-only/],
    ];
    for (const [args, want] of cases) {
      const err: string[] = [];
      const { error } = console;
      console.error = (...a: unknown[]) => void err.push(a.join(" "));
      let code;
      try {
        code = await main(["gc", ...args]);
      } finally {
        console.error = error;
      }
      assert.equal(code, 2, `${args.join(" ")}: ${err.join("\n")}`);
      assert.match(err.join("\n"), want, args.join(" "));
    }
  }));

Deno.test("gc --dry-run prints what would go; gc --json removes it and reports count and bytes", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    const g = await makeGarbage(tmp, store);
    await age(store.root, 2 * DAY);
    const before = await snapshot(store.root);
    const dry = await runBinary(["gc", "--store", store.root, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /\(dry run\): 2 repositories/);
    assert.match(dry.stdout, /would remove 3 blob\(s\)/);
    for (const k of g.garbage) assert.match(dry.stdout, new RegExp(`blob\\s+${k}`));
    assert.deepEqual(await snapshot(store.root), before);

    const run = await runBinary(["gc", "--store", store.root, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    const bytes = [...g.garbage].reduce((n, k) => n + g.images.b.sizes[`sha256:${k.slice(13)}`], 0);
    assert.deepEqual(report.removed.blobs, { count: 3, bytes });
    assert.equal(report.dryRun, false);
    assert.deepEqual(await blobKeys(store), [...g.keep].sort());

    const text = await runBinary(["gc", "--store", store.root]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /removed 0 blob\(s\) \(0 B\).*0 B freed/);
  }));

Deno.test("gc exits 1 and removes nothing when a tag index cannot be read", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    await makeGarbage(tmp, store);
    await age(store.root, 2 * DAY);
    await fs.writeFile(store.pathOf(repoIndexKey("demo/app")), "[]");
    const before = await blobKeys(store);
    const r = await runBinary(["gc", "--store", store.root]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /gc aborted, nothing removed: repository "demo\/app"/);
    assert.match(r.stderr, /repositories\/demo\/app\/_index\.json/);
    assert.deepEqual(await blobKeys(store), before);
  }));
