/**
 * @module
 * The compiled binary's progress as a user sees it: on a real pty (util-linux `script`,
 * sized with `stty`), `publish` of a multi-layer oci: image draws a line per layer and a
 * total line no wider than the terminal, a second publish shows the layers as "Exists",
 * and export and import draw theirs; without a terminal a short publish writes nothing to
 * stderr, and `--json` carries duration_ms and mb_per_s.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { binaryPath, runBinary } from "../helpers/binary.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { run } from "../helpers/process.ts";
import { shortDigest } from "../../lib/cli/progress_state.ts";
import { withTempDir } from "./fixture.ts";
import { FakeTerminal } from "./progress_screen.ts";

const COLUMNS = 72;
const ROWS = 40;

/** Runs `commands` (shell text) in a pty of COLUMNS x ROWS; resolves to what it showed. */
async function onPty(commands: string[]): Promise<{ code: number; screen: FakeTerminal }> {
  const line = [`stty cols ${COLUMNS} rows ${ROWS}`, ...commands].join(" && ");
  const r = await run("script", ["-q", "-e", "-c", line, "/dev/null"], { timeoutMs: 60_000 });
  const screen = new FakeTerminal(COLUMNS, ROWS);
  screen.write(r.stdout);
  return { code: r.code, screen };
}

Deno.test("publish, export and import on a terminal show a line per layer and a total line", () =>
  withTempDir(async (dir) => {
    const src = path.join(dir, "src");
    const store = path.join(dir, "store");
    const bundle = path.join(dir, "bundle.tar");
    const image = await makeOciLayout(src, { tag: "v1", layers: 4, layerSize: 256 * 1024 });
    assert.equal(image.blobs.length, 5); // config + 4 layers
    const bin = binaryPath();
    // stdout (the summaries) to files: the pty then shows the progress frames alone.
    const { code, screen } = await onPty([
      `${bin} publish oci:${src}:v1 demo/app:v1 --to ${store} >${dir}/1.out`,
      `${bin} publish oci:${src}:v1 demo/app:v2 --to ${store} >${dir}/2.out`,
      `${bin} export --from ${store} demo/app:v1 oci-archive:${bundle} >${dir}/3.out`,
      `${bin} import oci-archive:${bundle} --to ${dir}/back >${dir}/4.out`,
    ]);
    const lines = screen.lines();
    const shown = lines.join("\n");
    assert.equal(code, 0, shown);
    assert.equal(screen.wrapped, 0, `a line was wider than ${COLUMNS} columns:\n${shown}`);
    // Each command's last frame stays on screen: its blob lines, then its total line
    // (export also writes the manifest: 6 objects).
    assert.equal(lines.length, 6 + 6 + 7 + 6, shown);
    const frames = [lines.slice(0, 6), lines.slice(6, 12), lines.slice(12, 19), lines.slice(19)];
    const states = (f: string[]) =>
      f.slice(0, -1).map((l) => l.split(/\s+/).slice(0, 2).join(" ")).sort();
    const blobs = image.blobs.map(shortDigest).sort();
    const [first, second, exported, imported] = frames;
    assert.deepEqual(states(first), blobs.map((b) => `${b}: Done`));
    assert.match(first[5], /^demo\/app:v1 \[=+\] [\d.]+ MiB\/[\d.]+ MiB 5\/5 blobs .*B\/s in /);
    assert.deepEqual(states(second), blobs.map((b) => `${b}: Exists`));
    assert.match(second[5], /^demo\/app:v2 \[=+\] .* 5\/5 blobs /);
    assert.equal(states(exported).filter((s) => s.endsWith(": Done")).length, 6);
    assert.match(exported[6], /^export \[=+\] .* 6\/6 blobs /);
    assert.deepEqual(states(imported), blobs.map((b) => `${b}: Done`));
    assert.match(imported[5], /^import \[=+\] .* 5\/5 blobs /);
    for (const l of lines) assert.ok(l.length < COLUMNS, l);
    // The summaries went to stdout as usual.
    assert.match(await Deno.readTextFile(`${dir}/1.out`), /^published demo\/app:v1 .* MB\/s\)\n$/);
    assert.match(
      await Deno.readTextFile(`${dir}/4.out`),
      /imported 1 image\(s\) into .* MB\/s\)\n$/,
    );
  }));

Deno.test("publish without a terminal: no progress for a short copy; --json has duration and MB/s", () =>
  withTempDir(async (dir) => {
    const src = path.join(dir, "src");
    const store = path.join(dir, "store");
    await makeOciLayout(src, { tag: "v1", layers: 2 });
    const text = await runBinary(["publish", `oci:${src}:v1`, "demo/app:v1", "--to", store]);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stderr, "");
    assert.match(text.stdout, /manifest\(s\) written, in \d+(\.\d)? m?s \(\d+\.\d\d MB\/s\)\n$/);
    const json = await runBinary([
      "publish",
      `oci:${src}:v1`,
      "demo/app:v2",
      "--to",
      store,
      "--json",
    ]);
    assert.equal(json.code, 0, json.stderr);
    const r = JSON.parse(json.stdout);
    assert.ok(Number.isInteger(r.duration_ms) && r.duration_ms >= 0, json.stdout);
    assert.equal(r.mb_per_s, 0, "nothing copied the second time");
    const out = path.join(dir, "out");
    const ex = await runBinary(["export", "--from", store, "--json", `oci:${out}`]);
    assert.equal(ex.code, 0, ex.stderr);
    const e = JSON.parse(ex.stdout);
    assert.equal(typeof e.duration_ms, "number");
    assert.equal(typeof e.mb_per_s, "number");
    assert.equal(e.images.length, 2);
    const im = await runBinary(["import", `oci:${out}`, "--to", path.join(dir, "b"), "--json"]);
    assert.equal(im.code, 0, im.stderr);
    const i = JSON.parse(im.stdout);
    assert.equal(i.images.length, 2);
    assert.equal(typeof i.duration_ms, "number");
    assert.ok(i.mb_per_s >= 0);
  }));
