/** parseFlags(): the one flag parser; every refusal is a UsageError naming flag and value. */
import assert from "node:assert/strict";
import { duration, integer, parseFlags } from "../../lib/cli/flags.ts";
import { UsageError } from "../../lib/cli/usage.ts";

const spec = {
  to: { type: "string" },
  config: { type: "string", short: "c" },
  json: { type: "boolean" },
  concurrency: { type: "string", parse: integer(1, 1024) },
  timeout: { type: "string", parse: duration },
} as const;

Deno.test("parseFlags() reads flags, short flags, --help and positionals", () => {
  const { flags, positionals } = parseFlags(
    [
      "src",
      "-c",
      "cfg.json",
      "--to=d",
      "--json",
      "--concurrency",
      "8",
      "--timeout",
      "2s",
      "--",
      "-x",
    ],
    spec,
  );
  assert.deepEqual(flags, {
    help: false,
    to: "d",
    config: "cfg.json",
    json: true,
    concurrency: 8,
    timeout: 2000,
  });
  assert.deepEqual(positionals, ["src", "-x"]);
  assert.equal(parseFlags(["-h"], spec).flags.help, true);
  assert.equal(parseFlags(["--to", "a", "--to", "b"], spec).flags.to, "b");
  assert.equal(parseFlags(["--to", "-"], spec).flags.to, "-");
});

Deno.test("parseFlags() refuses with a UsageError naming the flag and the value (table)", () => {
  for (
    const [argv, message] of [
      [["--bogus"], 'unknown flag "--bogus"'],
      [["-z"], 'unknown flag "-z"'],
      [["--to"], "--to: needs a value"],
      [["--to", "--json"], '--to: needs a value, got the flag "--json"'],
      [["--json=yes"], '--json: takes no value, got "yes"'],
      [["--concurrency", "0"], '--concurrency: expected an integer from 1 to 1024, got "0"'],
      [["--concurrency=1.5"], '--concurrency: expected an integer from 1 to 1024, got "1.5"'],
      [["--timeout", "soon"], '--timeout: expected a duration like "10s" or "500ms", got "soon"'],
      // A timer cannot wait longer than 2^31-1 ms (issue 9, defect 8).
      [
        ["--timeout", "600h"],
        '--timeout: must be at most 596h31m23.647s (the longest a timer can wait), got "600h"',
      ],
    ] as const
  ) {
    assert.throws(
      () => parseFlags([...argv], spec),
      (e: Error) => e instanceof UsageError && e.exitCode === 2 && e.message === message,
      argv.join(" "),
    );
  }
});

Deno.test("parseFlags() gives every value of a multiple flag, in order", () => {
  const m = { origin: { type: "string", multiple: true } } as const;
  assert.deepEqual(parseFlags(["--origin", "a", "--origin=b"], m).flags.origin, ["a", "b"]);
  assert.deepEqual(parseFlags([], m).flags.origin, []);
  assert.throws(() => parseFlags(["--origin"], m), /--origin: needs a value/);
});
