/** report(): one error path for the CLI — the message, its causes, the exit status. */
import assert from "node:assert/strict";
import { report } from "../../lib/cli/report.ts";
import { UsageError } from "../../lib/cli/usage.ts";

function printed(err: unknown, opts: Parameters<typeof report>[1] = {}) {
  const lines: string[] = [];
  const status = report(err, { ...opts, write: (l) => lines.push(l) });
  return { status, lines };
}

Deno.test("report() prints the message, then each cause not already quoted, and exits 1", () => {
  const root = new Error("EACCES: permission denied");
  const mid = new Error(`cannot read "creds.json": ${root.message}`, { cause: root });
  const top = new Error("publish demo/a:v1 failed", { cause: mid });
  const { status, lines } = printed(top);
  assert.equal(status, 1);
  assert.deepEqual(lines, [
    "static-registry: publish demo/a:v1 failed",
    `  caused by: cannot read "creds.json": EACCES: permission denied`,
  ]);
});

Deno.test("report() returns 2 for errors whose exitCode is 2, with the --help pointer", () => {
  class ConfigLike extends Error {
    readonly exitCode = 2;
  }
  const cases: [unknown, string | undefined, string][] = [
    [
      new UsageError("--to <store> is required"),
      "publish",
      'Run "static-registry publish --help" for usage.',
    ],
    [
      new ConfigLike('config "c.json": listen: bad', { cause: new Error("port 99999") }),
      undefined,
      'Run "static-registry --help" for usage.',
    ],
  ];
  for (const [err, command, hint] of cases) {
    const { status, lines } = printed(err, { command });
    assert.equal(status, 2);
    assert.equal(lines.at(-1), hint);
    assert.ok(lines[0].startsWith("static-registry: "), lines[0]);
  }
  assert.deepEqual(printed(cases[1][0]).lines.slice(0, 2), [
    'static-registry: config "c.json": listen: bad',
    "  caused by: port 99999",
  ]);
});

Deno.test("report() uses any numeric exitCode, prints non-Errors, and survives cause cycles", () => {
  assert.equal(printed(Object.assign(new Error("x"), { exitCode: 3 })).status, 3);
  assert.deepEqual(printed("plain string"), {
    status: 1,
    lines: ["static-registry: plain string"],
  });
  const a = new Error("a");
  const b = new Error("b", { cause: a });
  (a as { cause?: unknown }).cause = b;
  assert.deepEqual(printed(b).lines, ["static-registry: b", "  caused by: a"]);
});

Deno.test("report() prints stack traces only when debugging", () => {
  const err = new Error("boom", { cause: new Error("inner") });
  assert.ok(!printed(err).lines.some((l) => l.includes("    at ")));
  const { lines } = printed(err, { debug: true });
  assert.ok(lines.some((l) => l.startsWith("Error: boom") && l.includes("    at ")));
  assert.ok(lines.some((l) => l.startsWith("Error: inner")));
});

Deno.test("report() never prints credentials a message or its cause quotes", () => {
  const lines: string[] = [];
  const err = new Error('config "c.json": store: cannot read "http://bob:s3cr3t@cdn.test/x"', {
    cause: new Error("GET https://cdn.test/x?X-Amz-Signature=abcdef failed"),
  });
  report(err, { write: (l) => lines.push(l), debug: true });
  const out = lines.join("\n");
  assert.ok(!out.includes("s3cr3t") && !out.includes("abcdef"), out);
  assert.match(out, /http:\/\/\*\*\*@cdn\.test/);
});
