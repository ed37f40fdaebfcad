/**
 * `deno run -A main.ts serve --config …` as a real process: it listens (one "listening"
 * line), serves a directory store, survives SIGHUP with a broken config (logs why, keeps
 * serving), picks up a good config on SIGHUP, and exits 0 on SIGTERM. And the compiled
 * binary refusing what the runtime cannot honour (exit 2 naming the key) and naming the
 * address of a failed bind.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { runBinary } from "../helpers/binary.ts";
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

/**
 * Issue 9 (defects 8, 9, 16) against the COMPILED binary, where Bun's timers and Bun.serve
 * run: every value the runtime cannot honour is exit 2 naming the key before anything
 * starts; a bind failure names the address and why, and comes before the index is loaded.
 */
Deno.test({
  name:
    "binary: values the runtime cannot honour exit 2 naming the key; bind failures name the address",
  sanitizeResources: false,
  fn: async () => {
    await withTempDir(async (dir) => {
      await writeStore(path.join(dir, "a"), "a");
      const file = path.join(dir, "cfg.json");
      const serve = async (config: Record<string, unknown>, args: string[] = []) => {
        await fs.writeFile(file, JSON.stringify({ store: "a", ...config }));
        return await runBinary(["serve", "--config", file, ...args], { timeoutMs: 20_000 });
      };
      const exit2: [Record<string, unknown>, string[], RegExp][] = [
        [
          { listen: "127.0.0.1:0", health: { interval: "600h" } },
          [],
          /health\.interval: must be at most 596h31m23\.647s .*got "600h"/,
        ],
        [{ listen: "127.0.0.1:0", refresh: { interval: "1000h" } }, [], /refresh\.interval: /],
        [{ listen: "127.0.0.1:0", http: { idleTimeout: "300s" } }, [], /http\.idleTimeout: /],
        [{ listen: "127.0.0.1:0", verifyBlobs: { cacheSize: 1e12 } }, [], /cacheSize: must be/],
        [{ listen: "999.1.1.1:5000" }, [], /listen: expected an address .*"999\.1\.1\.1:5000"/],
        [{}, ["--listen", "999.1.1.1:5000"], /: --listen: expected an address/],
        [
          { listen: "nosuchhost.invalid:5000" },
          [],
          /listen: host "nosuchhost\.invalid" does not resolve \(no such host\)/,
        ],
        [{}, ["--listen", "nosuchhost.invalid:5000"], /--listen: host "nosuchhost\.invalid"/],
      ];
      for (const [config, args, want] of exit2) {
        const r = await serve(config, args);
        const what = `${JSON.stringify(config)} ${args.join(" ")}`;
        assert.equal(r.code, 2, `${what}: ${r.stderr}`);
        assert.match(r.stderr, want, what);
        assert.doesNotMatch(r.stderr, /"msg":"listening"/, `${what}: nothing starts`);
      }

      // A bind failure: exit 1 (runtime), the address and the reason, before the index.
      const notMine = await serve({ listen: "10.99.99.99:5000" });
      assert.equal(notMine.code, 1, notMine.stderr);
      assert.match(
        notMine.stderr,
        /cannot listen on 10\.99\.99\.99:5000: no network interface of this machine has that address/,
      );
      const holder = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      try {
        const port = (holder.addr as Deno.NetAddr).port;
        // With secrets in a world-readable file (0644 under the usual umask): a warning.
        const secrets = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "wJalrEXAMPLE" };
        await fs.chmod(file, 0o644); // serve() rewrites it in place: the mode stays
        const inUse = await serve({ listen: `127.0.0.1:${port}`, s3: secrets });
        assert.equal(inUse.code, 1, inUse.stderr);
        assert.match(
          inUse.stderr,
          /"keys":\["s3\.accessKeyId","s3\.secretAccessKey"\].*is readable by every user/,
        );
        assert.doesNotMatch(inUse.stderr, /wJalrEXAMPLE/);
        assert.match(
          inUse.stderr,
          new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use`),
        );
        assert.doesNotMatch(inUse.stderr, /index loaded|"msg":"listening"/, "bound before loading");
      } finally {
        holder.close();
      }
    });
  },
});
