/**
 * @module
 * What one access line costs the server's thread, in process, without wrk (run with Bun,
 * the product's runtime): `bun bench/access_line_cost.ts [ROUNDS]`.
 *
 * Prints nanoseconds per call, the median of ROUNDS (default 9) alternated rounds, for:
 * quoting a blob path with `JSON.stringify` and with lib/server/access_log.ts `jsonString`,
 * the whole line (`accessLine` of a logged 307), and the line written through
 * lib/log_sink.ts `fdSink` to /dev/null (the sink's own work, not the disk's). An in-process
 * loop is steadier than a wrk row on a shared machine: the figures say which step is dear,
 * the hot row of `scripts/bench --only hot` says what it does to a 307.
 */
import { openSync } from "node:fs";
import process from "node:process";
import { fdSink } from "../lib/log_sink.ts";
import { accessLine, jsonString } from "../lib/server/access_log.ts";
import type { RequestContext } from "../lib/server/context.ts";

const rounds = Number(process.argv[2] ?? 9);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error("usage: bun bench/access_line_cost.ts [ROUNDS]");
  process.exit(2);
}
const N = 200_000;
const hex = "cd92108ce20cfd29473d32ab453a17ac044809c2380696ddfc6892a96bee1a4c";
// 64 distinct paths, so no step can be answered from a cache of the last input.
const paths = Array.from(
  { length: 64 },
  (_, i) => `/v2/bench/app/blobs/sha256:${hex.slice(2)}${i + 10}`,
);
const contexts = paths.map((path) =>
  ({
    req: new Request(`http://127.0.0.1${path}`),
    path,
    query: "",
    family: "blobs",
    name: "bench/app",
    origin: "nginx",
    user: undefined,
    client: "127.0.0.1",
  }) as unknown as RequestContext
);
const time = new Date().toISOString();
const sink = fdSink(openSync("/dev/null", "w"));

let keep = 0; // every result feeds this, so no loop is optimised away
const steps: Record<string, () => void> = {
  "JSON.stringify(path)": () => {
    for (let i = 0; i < N; i++) keep += JSON.stringify(paths[i & 63]).length;
  },
  "jsonString(path)": () => {
    for (let i = 0; i < N; i++) keep += jsonString(paths[i & 63]).length;
  },
  "accessLine (307)": () => {
    for (let i = 0; i < N; i++) {
      keep += accessLine(contexts[i & 63], 307, 0, i / N, 30, time).length;
    }
  },
  "accessLine + fdSink (/dev/null)": () => {
    for (let i = 0; i < N; i++) sink.buffer(accessLine(contexts[i & 63], 307, 0, i / N, 30, time));
    sink.flush();
  },
};
const ns: Record<string, number[]> = {};
for (let r = 0; r < rounds; r++) {
  for (const [name, step] of Object.entries(steps)) {
    const t0 = performance.now();
    step();
    (ns[name] ??= []).push((performance.now() - t0) * 1e6 / N);
  }
}
for (const [name, xs] of Object.entries(ns)) {
  const sorted = [...xs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(
    `${median.toFixed(0).padStart(6)} ns  ${name}  (rounds: ${
      xs.map((x) => x.toFixed(0)).join(" ")
    })`,
  );
}
if (keep < 0) console.log(keep);
