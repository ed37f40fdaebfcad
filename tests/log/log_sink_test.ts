/**
 * fdSink(): buffered access lines and unbuffered event lines keep their order on one
 * descriptor, the buffer is written on its timer, when it is full, and at process exit —
 * checked in a child process writing to a file, as the server writes to stderr.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { FLUSH_BYTES } from "../../lib/log_sink.ts";

const sinkModule = new URL("../../lib/log_sink.ts", import.meta.url).href;

/**
 * Runs `body` (with `sink` an fdSink on file `FILE`) in a child; returns the file's lines
 * and what the child printed.
 */
async function inChild(body: string): Promise<{ lines: string[]; stdout: string }> {
  const dir = await Deno.makeTempDir({ prefix: "sr-sink-" });
  try {
    const file = path.join(dir, "out.log");
    const script = path.join(dir, "child.ts");
    await fs.writeFile(
      script,
      `import { openSync } from "node:fs";
import { fdSink } from ${JSON.stringify(sinkModule)};
const FILE = ${JSON.stringify(file)};
const sink = fdSink(openSync(FILE, "a"));
${body}
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return {
      lines: (await fs.readFile(file, "utf8")).split("\n").filter(Boolean),
      stdout: new TextDecoder().decode(out.stdout),
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

Deno.test("fdSink: an event line is written after the access lines buffered before it", async () => {
  const { lines } = await inChild(`
sink.buffer("a1\\n"); sink.buffer("a2\\n"); sink.write("event\\n"); sink.buffer("a3\\n");
`);
  assert.deepEqual(lines, ["a1", "a2", "event", "a3"], "a3 written at exit");
});

Deno.test("fdSink: buffered lines are written on the timer while the process runs", async () => {
  const { lines, stdout } = await inChild(`
import { readFileSync } from "node:fs";
sink.buffer("early\\n");
console.log(JSON.stringify(readFileSync(FILE, "utf8")));
await new Promise((r) => setTimeout(r, 600));
// Still running: the timer has written the line.
console.log(JSON.stringify(readFileSync(FILE, "utf8")));
`);
  assert.deepEqual(stdout.trim().split("\n").map((l) => JSON.parse(l)), ["", "early\n"]);
  assert.deepEqual(lines, ["early"]);
});

Deno.test("fdSink: a full buffer is written at once; process.exit() writes the rest", async () => {
  const n = Math.ceil(FLUSH_BYTES / 10) + 5;
  const { lines } = await inChild(`
for (let i = 0; i < ${n}; i++) sink.buffer(String(i).padStart(9, "0") + "\\n");
process.exit(0);
`);
  assert.equal(lines.length, n);
  assert.equal(lines.at(-1), String(n - 1).padStart(9, "0"));
});
