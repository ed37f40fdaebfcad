/**
 * @module
 * Slow clients (slowloris): N connections that send a request head one byte every
 * `intervalMs` and never finish it (the header lines repeat forever, no empty line). Run
 * as its own process so its timers do not disturb the latency measured by the test:
 *
 *   deno run -A tests/reliability/trickle.ts PORT CONNECTIONS INTERVAL_MS MAX_MS
 *
 * Prints `{"event":"open","n":N}` once every socket is connected, `{"event":"first-close",
 * "at":EPOCH_MS}` when the server closes the first one, then one
 * `{"event":"done",...}` line when every socket is closed (by the server: `byServer`) or
 * `MAX_MS` passed (the rest are destroyed by us and counted in `stillOpen`).
 */
import * as net from "node:net";

/** The final report of a trickle run. */
export interface TrickleReport {
  event: "done";
  connections: number;
  /** Sockets the server closed, and after how long (ms since connect), sorted. */
  byServer: number;
  closedAfterMs: number[];
  /** Sockets still open at MAX_MS. */
  stillOpen: number;
  /** Bytes the server sent on all sockets (a 408 would show here). */
  bytesReceived: number;
  /** Bytes we trickled in total. */
  bytesSent: number;
  errors: string[];
}

const HEAD = "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n";
const FILLER = "X-Slow: a\r\n";

async function main(argv: string[]): Promise<void> {
  const [port, n, intervalMs, maxMs] = argv.map(Number);
  if (!(port > 0 && n > 0 && intervalMs > 0 && maxMs > 0)) {
    throw new Error("usage: trickle.ts PORT CONNECTIONS INTERVAL_MS MAX_MS");
  }
  const report: TrickleReport = {
    event: "done",
    connections: n,
    byServer: 0,
    closedAfterMs: [],
    stillOpen: 0,
    bytesReceived: 0,
    bytesSent: 0,
    errors: [],
  };
  const open = new Set<net.Socket>();
  let connected = 0;
  let allDone: () => void = () => {};
  const done = new Promise<void>((r) => (allDone = r));
  for (let i = 0; i < n; i++) {
    const sock = net.connect({ port, host: "127.0.0.1" });
    const start = performance.now();
    let sent = 0;
    let timer: ReturnType<typeof setInterval> | undefined;
    open.add(sock);
    sock.on("connect", () => {
      if (++connected === n) console.log(JSON.stringify({ event: "open", n }));
      // Spread the writes over the interval so the server sees a steady trickle.
      setTimeout(() => {
        timer = setInterval(() => {
          const text = sent < HEAD.length ? HEAD : FILLER;
          const at = sent < HEAD.length ? sent : (sent - HEAD.length) % FILLER.length;
          if (!sock.destroyed) sock.write(text[at]);
          sent++;
          report.bytesSent++;
        }, intervalMs);
      }, Math.random() * intervalMs);
    });
    sock.on("data", (d) => (report.bytesReceived += d.length));
    sock.on("error", (e) => report.errors.length < 5 && report.errors.push(e.message));
    sock.on("close", () => {
      clearInterval(timer);
      if (!open.delete(sock)) return; // destroyed by us at MAX_MS
      if (report.byServer === 0) {
        console.log(JSON.stringify({ event: "first-close", at: Date.now() }));
      }
      report.byServer++;
      report.closedAfterMs.push(Math.round(performance.now() - start));
      if (open.size === 0) allDone();
    });
  }
  const cap = setTimeout(allDone, maxMs);
  await done;
  clearTimeout(cap);
  report.stillOpen = open.size;
  for (const s of [...open]) {
    open.delete(s);
    s.destroy();
  }
  report.closedAfterMs.sort((a, b) => a - b);
  console.log(JSON.stringify(report));
  Deno.exit(0);
}

if (import.meta.main) {
  main(Deno.args).catch((e) => {
    console.error(String(e?.message ?? e));
    Deno.exit(1);
  });
}
