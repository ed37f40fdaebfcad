/** The published JSON Schema and the duration/listen parsers. */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { jsonSchemaText } from "../../lib/config/schema.ts";
import {
  durationProblem,
  formatDuration,
  MAX_TIMER_MS,
  parseDuration,
} from "../../lib/config/duration.ts";
import { parseListen } from "../../lib/config/resolve.ts";
import { didYouMean, keyPath } from "../../lib/config/errors.ts";

Deno.test("docs/config.schema.json is up to date with lib/config/schema.ts (run scripts/gen-schema)", async () => {
  const onDisk = await fs.readFile(
    new URL("../../docs/config.schema.json", import.meta.url),
    "utf8",
  );
  assert.equal(onDisk, jsonSchemaText());
});

Deno.test("jsonSchemaText() is plain JSON Schema: no private annotations, closed objects", () => {
  const text = jsonSchemaText();
  assert.ok(!text.includes("x-expected"));
  const doc = JSON.parse(text);
  assert.equal(doc.$schema, "https://json-schema.org/draft/2020-12/schema");
  assert.deepEqual(doc.required, ["store"]);
  const walk = (s: Record<string, unknown>, at: string) => {
    if (s.type === "object") assert.equal(s.additionalProperties, false, `${at} is not closed`);
    for (
      const [k, v] of Object.entries(
        (s.properties ?? {}) as Record<string, Record<string, unknown>>,
      )
    ) walk(v, `${at}.${k}`);
    if (s.items) walk(s.items as Record<string, unknown>, `${at}[]`);
  };
  walk(doc, "config");
});

Deno.test("parseDuration() reads ms, s, m, h and compounds", () => {
  const table: [string, number | null][] = [
    ["500ms", 500],
    ["10s", 10_000],
    ["1.5s", 1_500],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["1m30s", 90_000],
    ["0s", 0],
    ["ten", null],
    ["10", null],
    ["", null],
    ["10 s", null],
    ["-1s", null],
    ["1d", null],
  ];
  for (const [text, want] of table) assert.equal(parseDuration(text), want, text);
});

Deno.test("parseListen() takes host:port and [v6]:port only", () => {
  assert.deepEqual(parseListen("127.0.0.1:5000"), { hostname: "127.0.0.1", port: 5000 });
  assert.deepEqual(parseListen("localhost:0"), { hostname: "localhost", port: 0 });
  assert.deepEqual(parseListen("[::]:80"), { hostname: "::", port: 80 });
  assert.deepEqual(parseListen("[::1]:5000"), { hostname: "::1", port: 5000 });
  assert.deepEqual(parseListen("host-1.example:80"), { hostname: "host-1.example", port: 80 });
  assert.deepEqual(parseListen("0x1.example:80"), { hostname: "0x1.example", port: 80 });
  for (
    const bad of [
      "",
      "5000",
      ":5000",
      "host",
      "host:",
      "host:65536",
      "::1:5000",
      "[::1]",
      "[1.2.3]:5",
      "a_b:1",
      "-a:1",
      // Dotted numbers that are no IPv4 address are no host name either (issue 9).
      "999.1.1.1:5000",
      "1.2.3:5000",
      "256.0.0.1:80",
      "10.0.0.01x.5:1",
    ]
  ) {
    assert.equal(parseListen(bad), null, bad);
  }
});

Deno.test("keyPath() turns JSON pointers into dotted paths", () => {
  assert.equal(keyPath(""), "");
  assert.equal(keyPath("/health/interval"), "health.interval");
  assert.equal(keyPath("/origins/0/presign/expires"), "origins[0].presign.expires");
});

Deno.test("didYouMean() suggests only near misses", () => {
  assert.equal(didYouMean("orgins", ["origins", "store"]), "origins");
  assert.equal(didYouMean("Listen", ["listen"]), "listen");
  assert.equal(didYouMean("zzzz", ["origins", "store"]), undefined);
});

Deno.test("durations: formatDuration() and the timer bound every duration shares", () => {
  assert.equal(formatDuration(MAX_TIMER_MS), "596h31m23.647s");
  assert.equal(parseDuration(formatDuration(MAX_TIMER_MS)), MAX_TIMER_MS);
  assert.equal(formatDuration(1500), "1.5s");
  assert.equal(formatDuration(90_000), "1m30s");
  assert.equal(formatDuration(500), "500ms");
  assert.equal(durationProblem("596h31m23.647s"), null);
  assert.match(durationProblem("596h31m23.648s") ?? "", /at most 596h31m23\.647s/);
  assert.equal(durationProblem("ten"), null, "not a duration: the pattern's to say");
});
