/** openStore(): the resolved `store` setting → a store (directory kind). */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { openStore } from "../../lib/config/open_store.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { ConfigError } from "../../lib/config/errors.ts";
import { memoryLogger, withTempDir } from "../cli/fixture.ts";

const { log } = memoryLogger();

Deno.test("openStore() opens a directory store at the resolved path", async () => {
  await withTempDir(async (dir) => {
    const store = await openStore({ kind: "dir", location: dir, path: dir }, { log });
    assert.ok(store instanceof DirStore);
    assert.equal(store.location, dir);
  });
});

Deno.test("openStore() rejects a missing directory and a file, naming the path", async () => {
  await withTempDir(async (dir) => {
    const missing = path.join(dir, "nope");
    await assert.rejects(
      () => openStore({ kind: "dir", location: missing, path: missing }, { log }),
      (e: Error) =>
        e instanceof ConfigError && e.exitCode === 2 &&
        e.message === `store ${JSON.stringify(missing)}: directory not found`,
    );
    const file = path.join(dir, "file");
    await fs.writeFile(file, "x");
    await assert.rejects(
      () => openStore({ kind: "dir", location: file, path: file }, { log }),
      (e: Error) =>
        e instanceof ConfigError && e.message === `store ${JSON.stringify(file)}: not a directory`,
    );
  });
});
