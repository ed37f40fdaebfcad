/** main(): dispatch, --help/--version, and exit status 2 for every usage/config error. */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { main } from "../../lib/cli/main.ts";
import { BASE_VERSION } from "../../lib/version.ts";
import { withTempDir } from "./fixture.ts";

/** Runs main() with console.log/error captured. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    const code = await main(argv);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    Object.assign(console, { log, error });
  }
}

Deno.test("main(--version) prints the version and exits 0", async () => {
  const r = await cli("--version");
  assert.equal(r.code, 0);
  assert.equal(r.out, `static-registry ${BASE_VERSION} (dev)`);
});

Deno.test("main(--help) and -h print the usage and exit 0", async () => {
  for (const flag of ["--help", "-h"]) {
    const r = await cli(flag);
    assert.equal(r.code, 0);
    assert.match(r.out, /static-registry \[serve\] --config FILE/);
    assert.match(r.out, /publish SOURCE REPO\[:TAG\]/);
  }
});

Deno.test("main(serve --help) prints the serve usage", async () => {
  for (const argv of [["serve", "--help"], ["help", "serve"], ["-c", "x", "--help"]]) {
    const r = await cli(...argv);
    assert.equal(r.code, 0, argv.join(" "));
    assert.match(r.out, /^Usage: static-registry \[serve\] --config FILE/);
    assert.match(r.out, /SIGHUP/);
  }
});

Deno.test("main() exits 2 on an unknown command", async () => {
  const r = await cli("frobnicate");
  assert.equal(r.code, 2);
  assert.match(
    r.err,
    /^static-registry: unknown command "frobnicate"\nRun "static-registry --help"/,
  );
});

Deno.test("main() exits 2 on an unknown flag", async () => {
  for (const argv of [["--bogus"], ["serve", "--bogus"], ["serve", "--config"]]) {
    const r = await cli(...argv);
    assert.equal(r.code, 2, argv.join(" "));
    assert.match(r.err, /^static-registry: .*--(bogus|config)/, r.err);
  }
});

Deno.test("main(serve) without --config exits 2", async () => {
  for (const argv of [["serve"], []]) {
    const r = await cli(...argv);
    assert.equal(r.code, 2);
    assert.match(r.err, /serve needs --config FILE/);
  }
});

Deno.test("main(serve) with positional arguments exits 2", async () => {
  const r = await cli("serve", "cfg.json");
  assert.equal(r.code, 2);
  assert.match(r.err, /serve takes no arguments, got "cfg.json"/);
});

Deno.test("main(serve --config) with a missing file exits 2 naming it", async () => {
  const r = await cli("serve", "--config", "/nonexistent/cfg.json");
  assert.equal(r.code, 2);
  assert.match(r.err, /cannot read config "\/nonexistent\/cfg.json": file not found/);
});

Deno.test("main(--config) with a bad config exits 2 with the key path, before listening", async () => {
  await withTempDir(async (dir) => {
    const file = path.join(dir, "cfg.json");
    await fs.writeFile(file, JSON.stringify({ store: ".", health: { interval: "ten" } }));
    const r = await cli("--config", file);
    assert.equal(r.code, 2);
    assert.equal(
      r.err.split("\n")[0],
      `static-registry: config ${
        JSON.stringify(file)
      }: health.interval: expected a duration like "10s", got "ten"`,
    );
  });
});

Deno.test("main(serve --store) with a missing directory exits 2", async () => {
  const r = await cli("serve", "--store", "/nonexistent/store", "--listen", "127.0.0.1:0");
  assert.equal(r.code, 2);
  assert.match(r.err, /store "\/nonexistent\/store": directory not found/);
});
