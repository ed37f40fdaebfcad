/**
 * @module
 * What a held tag index costs in memory per byte of its document: the figure behind
 * lib/index/held.ts `MEMORY_PER_BYTE`. Writes N repositories of bench/distinct_store.ts's
 * shape (100 tags each, every tag its own manifest: ~65 KB per tag index), parses each
 * into a RepoView as the server does and keeps them all, then prints the JS heap and RSS
 * grown per document byte after a full collection. Run with bun (the compiled binary's
 * runtime; Deno's V8 gives a different heap figure):
 *
 *   bun bench/repo_view_memory.ts [REPOSITORIES, default 2000]
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { RepoView } from "../lib/index/repo.ts";
import { decodeDocument } from "../lib/layout/documents.ts";
import { repoIndexKey } from "../lib/layout/keys.ts";
import { validateRepoIndex } from "../lib/layout/rules.ts";
import { writeDistinctStore } from "./distinct_store.ts";

const g = globalThis as unknown as { Bun?: { gc(force: boolean): void } };
if (!g.Bun) throw new Error("run with bun: bun bench/repo_view_memory.ts [REPOSITORIES]");
const repositories = Number(process.argv[2] ?? 2000);
if (!Number.isInteger(repositories) || repositories < 1) {
  throw new Error(`REPOSITORIES: not a count: ${process.argv[2]}`);
}
const dir = fs.mkdtempSync(`${os.tmpdir()}/repo-view-memory-`);
try {
  writeDistinctStore(dir, repositories);
  const name = (r: number) => `team${r % 100}/app${r}`;
  g.Bun.gc(true);
  const before = process.memoryUsage();
  const held: RepoView[] = [];
  let bytes = 0;
  for (let r = 0; r < repositories; r++) {
    const key = repoIndexKey(name(r));
    const doc = new Uint8Array(fs.readFileSync(`${dir}/${key}`));
    bytes += doc.byteLength;
    const index = decodeDocument(key, doc, (v) => validateRepoIndex(v, name(r)));
    held.push(new RepoView(index, undefined, undefined, doc.byteLength));
  }
  g.Bun.gc(true);
  const after = process.memoryUsage();
  const per = (n: number) => (n / bytes).toFixed(2);
  console.log(
    `${held.length} tag indexes, ${(bytes / 1048576).toFixed(1)} MiB of documents: ` +
      `heap ${per(after.heapUsed - before.heapUsed)}× and RSS ${
        per(after.rss - before.rss)
      }× their bytes`,
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
