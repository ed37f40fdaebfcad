/**
 * What each command evaluates before it runs (issue 13, start-up): the static import
 * graph of its module, as `deno info --json` reads it, dynamic `import()`s not followed.
 * The compiled binary evaluates exactly that much at start (scripts/build: --splitting
 * puts every dynamically imported module in a chunk of its own), so a static import of a
 * heavy module on the wrong path shows here instead of as slower starts in a benchmark.
 */
import assert from "node:assert/strict";
import pino from "pino";
import { silentLogger } from "../../lib/log.ts";

const ROOT = new URL("../../", import.meta.url);

interface InfoDependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}
interface InfoModule {
  kind: string;
  specifier: string;
  npmPackage?: string;
  dependencies?: InfoDependency[];
}

/** Project files (lib/…), npm packages and node: built-ins `entry` loads statically. */
async function staticGraph(entry: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, `deno info ${entry}: ${new TextDecoder().decode(out.stderr)}`);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: InfoModule[];
    redirects: Record<string, string>;
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const files = new Set<string>();
  const npm = new Set<string>();
  const node = new Set<string>();
  const todo = [...info.roots];
  const seen = new Set<string>();
  while (todo.length) {
    let spec = todo.pop()!;
    spec = info.redirects[spec] ?? spec;
    if (seen.has(spec)) continue;
    seen.add(spec);
    const m = bySpecifier.get(spec);
    if (!m) continue;
    if (m.kind === "npm") npm.add(m.npmPackage!.replace(/^(@?[^@]+)@.*$/, "$1"));
    else if (m.kind === "node") node.add(m.specifier);
    else files.add(new URL(m.specifier).pathname.slice(new URL(ROOT).pathname.length));
    for (const d of m.dependencies ?? []) {
      if (d.code && !d.isDynamic) todo.push(d.code.specifier);
    }
  }
  return { files, npm, node };
}

const matching = (set: Set<string>, pattern: RegExp) => [...set].filter((s) => pattern.test(s));

Deno.test("main.ts (--version, --help) loads no npm package and no command", async () => {
  const g = await staticGraph("main.ts");
  assert.deepEqual([...g.npm], [], "npm packages");
  assert.deepEqual(
    matching(
      g.files,
      /^lib\/(?!cli\/(main|help|report|usage)\.ts|version\.ts|oci\/redact\.ts|runtime\/)/,
    ),
    [],
  );
  // node:fs and node:stream cost Bun about 20 ms to evaluate; --version needs neither.
  assert.deepEqual([...g.node].filter((n) => n !== "node:process"), [], "node built-ins");
});

Deno.test("serve loads no AWS SDK, prom-client, publisher or DNS resolver before it listens", async () => {
  const g = await staticGraph("lib/cli/serve.ts");
  assert.deepEqual(
    matching(g.npm, /^@aws-sdk\/|^@smithy\/|^prom-client$|^cli-progress$|^tar-stream$/),
    [],
  );
  assert.deepEqual(matching(g.files, /^lib\/(publish|sources|bundle|sync)\/|^lib\/store\/s3/), []);
  assert.deepEqual(matching(g.files, /^lib\/server\/metrics\.ts$/), [], "metrics.ts (prom-client)");
  assert.deepEqual(matching(g.node, /^node:dns/), []);
  // The graph is real: what serve does need is in it.
  assert.ok(g.files.has("lib/cli/instance.ts") && g.files.has("lib/server/lazy_metrics.ts"));
  assert.ok(g.npm.has("pino"));
});

Deno.test("publish and check load no server, metrics or AWS SDK (S3 stores import it when opened)", async () => {
  for (const entry of ["lib/cli/publish.ts", "lib/cli/check.ts"]) {
    const g = await staticGraph(entry);
    assert.deepEqual(matching(g.npm, /^@aws-sdk\/|^@smithy\/|^prom-client$/), [], entry);
    assert.deepEqual(matching(g.files, /^lib\/server\/|^lib\/store\/s3/), [], entry);
  }
});

Deno.test("silentLogger has a destination of its own: importing lib/log.ts opens no stdout", () => {
  // Without one, pino builds a SonicBoom on fd 1 when the module loads; on Bun touching
  // process.stdout evaluates node:stream, ~30 ms of every command's start.
  const stream = (silentLogger as unknown as Record<symbol, { fd?: number }>)[
    pino.symbols.streamSym
  ];
  assert.equal(stream.fd, undefined);
});

Deno.test("publish docker:// into a directory loads no logger, config loader or archive reader", async () => {
  // Each was evaluated before the first request of every publish: ~20 ms of a 0.55 s
  // `publish docker://` on Bun (issue 13). `--config`, s3:// and archives import them.
  const g = await staticGraph("lib/cli/publish.ts");
  assert.deepEqual(matching(g.npm, /^pino$|^tar-stream$|^jsonc-parser$|^ipaddr\.js$/), []);
  assert.deepEqual(
    matching(
      g.files,
      /^lib\/(log|config\/(load|mod|open_store))\.ts$|^lib\/sources\/(tar|oci_layout|docker_archive)/,
    ),
    [],
  );
  assert.deepEqual(matching(g.node, /^node:(zlib|stream|net)$/), []);
  // The graph is real: what publish does need is in it.
  assert.ok(g.files.has("lib/publish/publish.ts") && g.files.has("lib/store/dir.ts"));
});
