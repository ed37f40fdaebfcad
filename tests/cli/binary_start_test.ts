/**
 * The compiled binary's own start (scripts/build): it reads nothing from the working
 * directory that Bun's executables read by default — a `.env` file (which would set
 * STATIC_REGISTRY_* keys behind the config's back) or a `bunfig.toml` (whose `preload`
 * runs a script inside the process).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { binaryExists, binaryPath } from "../helpers/binary.ts";
import { run } from "../helpers/process.ts";
import { withTempDir, writeStore } from "./fixture.ts";

Deno.test("the binary ignores .env and bunfig.toml in its working directory", async () => {
  assert.ok(
    binaryExists(),
    `static-registry binary "${binaryPath()}" not found: run scripts/build`,
  );
  await withTempDir(async (dir) => {
    const store = path.join(dir, "store");
    await writeStore(store);
    await fs.writeFile(path.join(dir, ".env"), `STATIC_REGISTRY_STORE=${store}\n`);
    await fs.writeFile(path.join(dir, "preload.js"), `require("fs").writeFileSync("ran", "x");\n`);
    await fs.writeFile(path.join(dir, "bunfig.toml"), `preload = ["./preload.js"]\n`);
    const version = await run(binaryPath(), ["--version"], { cwd: dir });
    assert.equal(version.code, 0, version.stderr);
    await assert.rejects(fs.stat(path.join(dir, "ran")), "bunfig.toml's preload ran");
    // With the .env read, serve would start on the store it names instead of refusing.
    const serve = await run(binaryPath(), ["serve", "--listen", "127.0.0.1:0"], {
      cwd: dir,
      timeoutMs: 10_000,
    });
    assert.equal(serve.code, 2, serve.stderr);
    assert.match(serve.stderr, /serve needs --config FILE/);
  });
});
