/**
 * @module
 * Slow clients: 500 connections trickling request headers (a byte every 300 ms, never
 * finishing) must not stop normal requests, and the server must close them.
 *
 * Normal traffic is wrk on 8 keep-alive connections (manifest GETs from memory and blob GETs
 * streamed from the directory store), measured unloaded, then while the 500 trickle
 * (in their own process, tests/reliability/trickle.ts, so its timers do not disturb the
 * measurement). Loaded p99 must be within 2× of unloaded.
 *
 * Who closes the trickling connections: not `http.idleTimeout`. Bun (uWS) gives a request
 * head a fixed ~10 s to arrive, not extended by trickled bytes, checked on a 4 s timer
 * tick; measured here with idleTimeout 2 s, 5 s, 10 s and 30 s alike, trickling sockets were
 * closed 9–12 s after connecting. So the bound asserted is 10 s + one 4 s tick + 2 s of
 * slack. `http.idleTimeout` governs idle keep-alive connections between requests, which is
 * asserted separately.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { makeReliabilityStore } from "./fixture.ts";
import { alive, serveBinary } from "./registry.ts";
import { runWrk, type WrkResult } from "./wrk.ts";
import type { TrickleReport } from "./trickle.ts";

const SLOW = 500;
const TRICKLE_MS = 300;
/** uWS's fixed header timeout (10 s) + its 4 s timer granularity + 2 s slack. */
const HEADER_CLOSE_BOUND_MS = 16_000;
const IDLE_TIMEOUT_S = 5;
const TRICKLE = new URL("./trickle.ts", import.meta.url).pathname;

/** Reads JSON lines from the child's stdout, one at a time. */
function lines(
  stream: ReadableStream<Uint8Array<ArrayBuffer>>,
): () => Promise<Record<string, unknown>> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  return async () => {
    for (;;) {
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        return JSON.parse(line);
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`trickle.ts ended early; output so far: ${buf}`);
      buf += value;
    }
  };
}

/** Seconds until the server closes a keep-alive connection left idle after one request. */
function idleClose(port: number, maxMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: "127.0.0.1" });
    let answeredAt = 0;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`idle connection still open after ${maxMs} ms`));
    }, maxMs);
    sock.on("data", () => (answeredAt ||= performance.now()));
    sock.on("error", () => {});
    sock.on("close", () => {
      clearTimeout(timer);
      if (!answeredAt) reject(new Error("closed without answering"));
      else resolve((performance.now() - answeredAt) / 1000);
    });
    sock.write("GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  });
}

Deno.test({
  name: "slow clients: 500 trickling connections keep normal p99 within 2× and are closed",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const s = await makeReliabilityStore();
    try {
      const reg = await serveBinary(s.tmp, {
        store: s.store,
        http: { idleTimeout: `${IDLE_TIMEOUT_S}s` },
        log: { level: "warn" },
      });
      try {
        const single = s.repos["rel/single"];
        const paths = [
          "/v2/rel/multi/manifests/v1",
          `/v2/rel/single/blobs/${single.manifests[0].layers[1].digest}`,
          `/v2/rel/single/manifests/${single.rootDigest}`,
        ];
        const measure = (): Promise<WrkResult> =>
          runWrk({
            url: reg.url,
            paths,
            locationPrefix: "-",
            connections: 8,
            threads: 1,
            seconds: 5,
            dir: s.tmp,
          });
        const clean = (w: WrkResult, what: string) => {
          assert.deepEqual(
            w.errors,
            { connect: 0, read: 0, write: 0, timeout: 0, status: 0 },
            what,
          );
          assert.equal(w.ok200, w.requests, `${what}: not every answer was a 200`);
        };
        const unloaded = await measure();
        clean(unloaded, "unloaded");

        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", TRICKLE, String(reg.port), String(SLOW), String(TRICKLE_MS), "30000"],
          stdin: "null",
          stdout: "piped",
          stderr: "inherit",
        }).spawn();
        try {
          const next = lines(child.stdout);
          assert.equal((await next()).event, "open");
          // The server accepts a socket once its first byte is in (TCP_DEFER_ACCEPT), so
          // count its descriptors while the measurement runs.
          let fds = 0;
          let sampling = true;
          const sampler = (async () => {
            while (sampling) {
              fds = Math.max(fds, await reg.openFds().catch(() => 0));
              await new Promise((r) => setTimeout(r, 200));
            }
          })();
          const loaded = await measure().finally(() => (sampling = false));
          const loadedEnd = Date.now();
          await sampler;
          clean(loaded, "during the trickle");
          assert.ok(fds >= SLOW, `the server held at most ${fds} descriptors`);
          const first = await next();
          assert.equal(first.event, "first-close");
          // The measurement ran while all 500 were open (none closed before it ended).
          assert.ok(
            Number(first.at) > loadedEnd,
            `a slow connection was closed ${loadedEnd - Number(first.at)} ms before the end of ` +
              `the loaded measurement: it did not run against all ${SLOW}`,
          );
          const report = (await next()) as unknown as TrickleReport;
          const ratio = loaded.latencyMs.p99 / unloaded.latencyMs.p99;
          console.log(
            `slow clients: unloaded ${Math.round(unloaded.requests / unloaded.seconds)} req/s ` +
              `p50 ${unloaded.latencyMs.p50} ms p99 ${unloaded.latencyMs.p99} ms; with ${SLOW} ` +
              `trickling: ${Math.round(loaded.requests / loaded.seconds)} req/s p50 ` +
              `${loaded.latencyMs.p50} ms p99 ${loaded.latencyMs.p99} ms (p99 ratio ` +
              `${ratio.toFixed(2)}); ${report.byServer}/${SLOW} closed by the server after ` +
              `${report.closedAfterMs[0]}–${report.closedAfterMs.at(-1)} ms, ` +
              `${report.bytesSent} bytes trickled, ${report.bytesReceived} received`,
          );
          assert.ok(ratio <= 2, `p99 with slow clients ${ratio.toFixed(2)}× the unloaded p99`);
          assert.equal(report.stillOpen, 0, `${report.stillOpen} slow connections never closed`);
          assert.equal(report.byServer, SLOW);
          assert.ok(
            report.closedAfterMs.at(-1)! <= HEADER_CLOSE_BOUND_MS,
            `slowest close after ${report.closedAfterMs.at(-1)} ms > ${HEADER_CLOSE_BOUND_MS}`,
          );
        } finally {
          try {
            child.kill("SIGKILL");
          } catch { /* exited */ }
          await child.status;
        }

        // http.idleTimeout: an idle keep-alive connection is closed after it (+ one tick).
        const idle = await idleClose(reg.port, (IDLE_TIMEOUT_S + 10) * 1000);
        console.log(`idle keep-alive connection closed after ${idle.toFixed(1)} s`);
        assert.ok(idle >= IDLE_TIMEOUT_S - 1 && idle <= IDLE_TIMEOUT_S + 5, `${idle} s`);
        assert.ok(await alive(reg.pid), "registry died");
      } finally {
        await reg.stop();
      }
    } finally {
      await s.cleanup();
    }
  },
});
