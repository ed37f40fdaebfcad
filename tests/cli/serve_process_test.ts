/**
 * `deno run -A main.ts serve --config …` as a real process: it listens (one "listening"
 * line), serves a directory store, survives SIGHUP with a broken config (logs why, keeps
 * serving), picks up a good config on SIGHUP, and exits 0 on SIGTERM.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { REPO, TAG, withTempDir, writeStore } from "./fixture.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Collects stderr lines of the child and lets a test wait for one. */
class Lines {
  lines: Record<string, unknown>[] = [];
  raw = "";
  #waiters: (() => void)[] = [];
  constructor(stream: ReadableStream<Uint8Array>) {
    void (async () => {
      const dec = new TextDecoder();
      for await (const chunk of stream) {
        this.raw += dec.decode(chunk, { stream: true });
        const parts = this.raw.split("\n");
        this.raw = parts.pop()!;
        for (const p of parts) {
          try {
            this.lines.push(JSON.parse(p));
          } catch {
            this.lines.push({ msg: p });
          }
        }
        for (const w of this.#waiters.splice(0)) w();
      }
    })();
  }
  async waitFor(pred: (l: Record<string, unknown>) => boolean, ms = 15_000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.lines.find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `timed out; log so far:\n${this.lines.map((l) => JSON.stringify(l)).join("\n")}`,
        );
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.#waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }
}

Deno.test({
  name: "serve process: SIGHUP with a broken config keeps serving, SIGHUP reloads, SIGTERM exits 0",
  sanitizeResources: false,
  fn: async () => {
    await withTempDir(async (dir) => {
      const a = await writeStore(path.join(dir, "a"), "a");
      const b = await writeStore(path.join(dir, "b"), "b");
      const file = path.join(dir, "cfg.json");
      await fs.writeFile(file, JSON.stringify({ listen: "127.0.0.1:0", store: "a" }));
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", MAIN, "serve", "--config", file],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const log = new Lines(child.stderr);
      try {
        const listening = await log.waitFor((l) => l.msg === "listening");
        const url = String(listening.address);
        assert.match(url, /^http:\/\/127\.0\.0\.1:[0-9]+$/);
        const digest = async () => {
          const res = await fetch(`${url}/v2/${REPO}/manifests/${TAG}`);
          await res.body?.cancel();
          return res.headers.get("docker-content-digest");
        };
        const v2 = await fetch(`${url}/v2/`);
        await v2.body?.cancel();
        assert.equal(v2.status, 200);
        assert.equal(await digest(), a.digest);

        await fs.writeFile(file, '{"store": "b", "orgins": []}');
        child.kill("SIGHUP");
        const failed = await log.waitFor((l) => String(l.msg).startsWith("config reload failed"));
        assert.match(String(failed.reason), /unknown key "orgins" \(did you mean "origins"\?\)/);
        assert.equal(await digest(), a.digest, "still serves the old config");

        await fs.writeFile(file, JSON.stringify({ listen: "127.0.0.1:0", store: "b" }));
        child.kill("SIGHUP");
        await log.waitFor((l) => l.msg === "config reloaded");
        assert.equal(await digest(), b.digest, "serves the new store after a good reload");

        child.kill("SIGTERM");
        const status = await child.status;
        assert.equal(status.code, 0);
        assert.ok(log.lines.some((l) => l.msg === "stopped"));
      } finally {
        try {
          child.kill("SIGKILL");
        } catch { /* already exited */ }
        await child.status;
      }
    });
  },
});
