/**
 * @module
 * Signals to the COMPILED `serve`:
 * - SIGHUP with a broken config file (bad JSON, an unknown key, a bad value — each next
 *   to a `store` that WOULD change what is served) keeps serving the old config and logs
 *   why, naming the problem; a good config after them is applied (so SIGHUP was handled).
 * - SIGTERM while a 64 MiB blob streams from the directory store (no origins): the download
 *   completes with every byte and the right digest, new connections are refused while it
 *   drains, and the process exits 0.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as net from "node:net";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import { REPO, TAG, writeStore } from "../cli/fixture.ts";
import { alive, serveBinary, type Served } from "./registry.ts";

/** pino JSON lines of the process so far. */
function logLines(reg: Served): Record<string, unknown>[] {
  return reg.logs().split("\n").flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });
}

/** Waits until the log holds `count` lines with message `msg`; returns the last. */
async function waitLog(reg: Served, msg: string, count: number, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const hits = logLines(reg).filter((l) => l.msg === msg);
    if (hits.length >= count) return hits[count - 1];
    if (Date.now() > deadline) throw new Error(`no log line "${msg}" #${count}:\n${reg.logs()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function manifestDigest(url: string): Promise<string | null> {
  const res = await fetch(`${url}/v2/${REPO}/manifests/${TAG}`);
  await res.body?.cancel();
  assert.equal(res.status, 200, "manifest GET");
  return res.headers.get("docker-content-digest");
}

Deno.test({
  name: "SIGHUP with a broken config keeps serving the old one and logs why",
  sanitizeResources: false,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "sr-signals-" });
    try {
      const a = await writeStore(path.join(tmp, "a"), "a");
      const b = await writeStore(path.join(tmp, "b"), "b");
      const reg = await serveBinary(tmp, { store: path.join(tmp, "a") });
      try {
        assert.equal(await manifestDigest(reg.url), a.digest);
        const listen = `127.0.0.1:${reg.port}`;
        const storeB = path.join(tmp, "b");
        const broken: { text: string; reason: RegExp }[] = [
          {
            text: `{"listen": "${listen}", "store": "${storeB}",`,
            reason: /invalid JSON at line 1, column \d+/,
          },
          {
            text: JSON.stringify({ listen, store: storeB, orgins: [] }),
            reason: /unknown key "orgins" \(did you mean "origins"\?\)/,
          },
          {
            text: JSON.stringify({ listen, store: storeB, health: { interval: "soon" } }),
            reason: /health\.interval/,
          },
        ];
        for (const [i, c] of broken.entries()) {
          await fs.writeFile(reg.configPath, c.text);
          Deno.kill(reg.pid, "SIGHUP");
          const line = await waitLog(
            reg,
            "config reload failed; keeping the running config",
            i + 1,
          );
          assert.match(String(line.reason), c.reason);
          assert.ok(String(line.reason).includes(reg.configPath), `names the file: ${line.reason}`);
          assert.equal(await manifestDigest(reg.url), a.digest, `still the old store after #${i}`);
          const ready = await fetch(`${reg.url}/readyz`);
          await ready.body?.cancel();
          assert.equal(ready.status, 200);
          assert.ok(await alive(reg.pid));
        }
        // The same change, well formed, is applied: the SIGHUPs above were really handled.
        await fs.writeFile(reg.configPath, JSON.stringify({ listen, store: storeB }));
        Deno.kill(reg.pid, "SIGHUP");
        await waitLog(reg, "config reloaded", 1);
        assert.equal(await manifestDigest(reg.url), b.digest);
      } finally {
        await reg.stop();
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

/** A GET over a raw socket whose reading the test controls (pause, resume). */
function slowDownload(port: number, target: string) {
  const sock = net.connect({ port, host: "127.0.0.1" });
  const hash = createHash("sha256");
  let head = Buffer.alloc(0);
  let headers: Record<string, string> | null = null;
  let status = 0;
  let bodyBytes = 0;
  let firstBody: () => void = () => {};
  const started = new Promise<void>((r) => (firstBody = r));
  const done = new Promise<{ status: number; headers: Record<string, string>; bytes: number }>(
    (resolve, reject) => {
      sock.on("data", (d: Buffer) => {
        if (!headers) {
          head = Buffer.concat([head, d]);
          const end = head.indexOf("\r\n\r\n");
          if (end < 0) return;
          const lines = head.subarray(0, end).toString("latin1").split("\r\n");
          status = Number(lines[0].split(" ")[1]);
          headers = Object.fromEntries(
            lines.slice(1).map((l) => {
              const c = l.indexOf(":");
              return [l.slice(0, c).toLowerCase(), l.slice(c + 1).trim()];
            }),
          );
          d = head.subarray(end + 4);
        }
        hash.update(d);
        bodyBytes += d.length;
        if (bodyBytes > 0) firstBody();
      });
      sock.on("error", reject);
      sock.on("end", () => {
        if (!headers) return reject(new Error("connection closed before the response"));
        resolve({ status, headers, bytes: bodyBytes });
      });
    },
  );
  sock.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  return {
    started,
    done,
    pause: () => sock.pause(),
    resume: () => sock.resume(),
    received: () => bodyBytes,
    digest: () => `sha256:${hash.digest("hex")}`,
  };
}

/** Resolves "refused" once a new connection is refused, or "accepted" if one gets through. */
function tryConnect(port: number): Promise<"refused" | "accepted"> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" });
    s.on("connect", () => (s.destroy(), resolve("accepted")));
    s.on(
      "error",
      (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED" ? "refused" : "accepted"),
    );
  });
}

Deno.test({
  name: "SIGTERM drains: a 64 MiB blob download completes, new connections refused, exit 0",
  sanitizeResources: false,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "sr-signals-" });
    try {
      const size = 64 * 1024 * 1024;
      const store = await writeStore(path.join(tmp, "store"), "big", size);
      assert.equal(store.layerSize, size);
      const reg = await serveBinary(tmp, { store: path.join(tmp, "store") });
      try {
        const dl = slowDownload(reg.port, `/v2/${REPO}/blobs/${store.layer}`);
        await dl.started;
        dl.pause(); // hold the download in flight while the server is told to stop
        const before = dl.received();
        Deno.kill(reg.pid, "SIGTERM");
        await waitLog(reg, "shutting down: draining in-flight requests", 1);
        let refused = false;
        for (let i = 0; i < 40 && !refused; i++) {
          refused = (await tryConnect(reg.port)) === "refused";
          if (!refused) await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(refused, "new connections are still accepted after SIGTERM");
        assert.ok(await alive(reg.pid), "exited before the in-flight download finished");
        assert.ok(dl.received() < size, "the download was not in flight during the drain");
        dl.resume();
        const res = await dl.done;
        assert.equal(res.status, 200);
        assert.equal(res.headers["content-length"], String(size));
        assert.equal(res.bytes, size, "every byte of the blob arrived");
        assert.equal(dl.digest(), store.layer);
        const code = await reg.daemon.exited;
        assert.equal(code, 0, reg.logs());
        await waitLog(reg, "stopped", 1);
        console.log(
          `SIGTERM drain: ${before} of ${size} bytes read at the signal; download completed, ` +
            `new connections refused, exit ${code}`,
        );
      } finally {
        await reg.stop();
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
