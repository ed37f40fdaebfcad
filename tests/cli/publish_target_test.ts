/**
 * `openTarget()` (lib/cli/publish.ts): a plain `--to` directory is opened without the
 * config loader, and behaves as writeStoreArg's directory does; everything else, and
 * every failure, is writeStoreArg's.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { openTarget } from "../../lib/cli/publish.ts";
import { DirStore } from "../../lib/store/dir.ts";

Deno.test("openTarget() creates a missing --to directory and opens it as a DirStore", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = path.join(root, "a", "store");
    const store = await openTarget({ to: dir }, {});
    assert.ok(store instanceof DirStore);
    assert.equal(store.location, dir);
    assert.ok((await Deno.stat(dir)).isDirectory);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("openTarget() refuses a --to that is a file, naming it, as the config loader does", async () => {
  const root = await Deno.makeTempDir();
  try {
    const file = path.join(root, "f");
    await Deno.writeTextFile(file, "x");
    await assert.rejects(openTarget({ to: file }, {}), /EEXIST.*\/f'/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("openTarget() leaves URLs and mistyped URLs to the config loader", async () => {
  await assert.rejects(openTarget({ to: "s3//bucket" }, {}), /mistyped URL/);
  await assert.rejects(
    openTarget({ to: "https://cdn.example/x" }, {}),
    /HTTP stores are read-only/,
  );
});
