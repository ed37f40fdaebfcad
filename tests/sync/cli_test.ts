/**
 * @module
 * `sync` on the command line: flags refused with exit 2 naming the flag and the value, a
 * missing or malformed FILE refused before any request, naming the line; help.
 */
import assert from "node:assert/strict";
import { parseSyncArgs } from "../../lib/cli/sync.ts";
import { UsageError } from "../../lib/cli/usage.ts";
import { binaryExists } from "../helpers/binary.ts";
import { runSync } from "./fixture.ts";

Deno.test("parseSyncArgs() reads the flags and refuses bad ones naming them", () => {
  assert.deepEqual(
    parseSyncArgs([
      "f.yaml",
      "--to",
      "d",
      "--concurrency",
      "8",
      "--rate",
      "5/s",
      "--timeout",
      "2s",
      "--dry-run",
      "--json",
    ]),
    {
      file: "f.yaml",
      to: "d",
      config: undefined,
      json: true,
      dryRun: true,
      concurrency: 8,
      rate: 5,
      timeoutMs: 2000,
    },
  );
  assert.equal(parseSyncArgs(["--help"]), "help");
  const cases: [string[], RegExp][] = [
    [["--to", "d"], /expected one FILE, got 0/],
    [["a", "b", "--to", "d"], /expected one FILE, got 2 argument\(s\): "a" "b"/],
    [["f"], /--to <store> is required/],
    [
      ["f", "--to", "d", "--concurrency", "0"],
      /--concurrency: expected an integer from 1 to 64, got "0"/,
    ],
    [["f", "--to", "d", "--rate", "fast"], /--rate: expected a rate like "10\/s".*got "fast"/],
    [["f", "--to", "d", "--timeout", "soon"], /--timeout: .*got "soon"/],
    [["f", "--to", "d", "--bogus"], /unknown flag "--bogus"/],
  ];
  for (const [argv, want] of cases) {
    assert.throws(
      () => parseSyncArgs(argv),
      (e: Error) => e instanceof UsageError && want.test(e.message),
      argv.join(" "),
    );
  }
});

Deno.test({
  name: "sync binary: exit 2 for a missing or malformed FILE, naming it and the line",
  ignore: !binaryExists(),
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "sr-sync-cli-" });
    try {
      const missing = await runSync([`${tmp}/nope.yaml`, "--to", `${tmp}/store`]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /sync file ".*nope\.yaml": not found/);
      await Deno.writeTextFile(
        `${tmp}/bad.yaml`,
        "images:\n  - source: docker://127.0.0.1:1/a\n    platforms: [x]\n",
      );
      const bad = await runSync([`${tmp}/bad.yaml`, "--to", `${tmp}/store`]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /bad\.yaml": line 3: images\[0\]\.platforms/);
      await assert.rejects(Deno.stat(`${tmp}/store`), Deno.errors.NotFound, "nothing written");
      const help = await runSync(["--help"]);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /Usage: static-registry sync FILE --to STORE/);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
