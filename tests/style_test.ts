/**
 * @module
 * The tree is formatted and lint-clean (deno.json's fmt and lint settings), so CI catches
 * what a reviewer would otherwise have to.
 */
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

async function run(args: string[]) {
  const r = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT, stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

Deno.test("deno fmt --check finds nothing to reformat", async () => {
  const r = await run(["fmt", "--check"]);
  assert.equal(r.code, 0, r.out.slice(0, 4000));
});

Deno.test("deno lint finds no problem", async () => {
  const r = await run(["lint"]);
  assert.equal(r.code, 0, r.out.slice(0, 4000));
});
