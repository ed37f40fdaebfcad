/**
 * @module
 * The import graph of lib/ stays the shape DEVELOPERS.md draws: no cycles (type-only
 * imports included: a cycle of types is a cycle of ideas), lib/oci and lib/layout never
 * reach I/O modules, lib/store and lib/origins never import lib/config (config produces
 * their option types), nothing but lib/runtime calls Deno.* or Bun.*.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const LIB = new URL("../lib", import.meta.url).pathname;
const IMPORT = /(?:import|export)[^;]*?from\s+"(\.[^"]+)"/gs;

/** file (relative to lib/) → the lib files it imports. */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) {
        const text = fs.readFileSync(p, "utf8");
        const deps = [...text.matchAll(IMPORT)].map((m) =>
          path.relative(LIB, path.resolve(path.dirname(p), m[1]))
        );
        g.set(path.relative(LIB, p), deps);
      }
    }
  };
  walk(LIB);
  return g;
}

/** Every cycle found by a depth-first walk, as a list of files. */
export function cycles(g: Map<string, string[]>): string[][] {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (u: string) => {
    state.set(u, 1);
    stack.push(u);
    for (const v of g.get(u) ?? []) {
      if (state.get(v) === 1) found.push([...stack.slice(stack.indexOf(v)), v]);
      else if (!state.has(v)) visit(v);
    }
    stack.pop();
    state.set(u, 2);
  };
  for (const u of g.keys()) if (!state.has(u)) visit(u);
  return found;
}

Deno.test("cycles() finds a cycle of two files and none in a chain", () => {
  assert.deepEqual(cycles(new Map([["a", ["b"]], ["b", ["a"]]])), [["a", "b", "a"]]);
  assert.deepEqual(cycles(new Map([["a", ["b"]], ["b", ["c"]], ["c", []]])), []);
});

Deno.test("lib/ has no import cycle", () => {
  assert.deepEqual(cycles(graph()).map((c) => c.join(" -> ")), []);
});

Deno.test("lib/store and lib/origins never import lib/config; lib/oci imports only lib/oci", () => {
  const bad: string[] = [];
  for (const [file, deps] of graph()) {
    for (const d of deps) {
      if (/^(store|origins)\//.test(file) && d.startsWith("config/")) bad.push(`${file} -> ${d}`);
      if (file.startsWith("oci/") && !d.startsWith("oci/")) bad.push(`${file} -> ${d}`);
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("only lib/runtime/runtime.ts calls Deno.* or Bun.*", () => {
  const bad: string[] = [];
  for (const file of graph().keys()) {
    if (file === "runtime/runtime.ts") continue;
    const text = fs.readFileSync(path.join(LIB, file), "utf8").replace(
      /\/\*[\s\S]*?\*\/|\/\/.*$/gm,
      "",
    );
    if (/\b(Deno|Bun)\.[a-zA-Z]/.test(text)) bad.push(file);
  }
  assert.deepEqual(bad, []);
});
