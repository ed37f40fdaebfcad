/**
 * @module
 * Starts an OpenStack Swift all-in-one with s3api (tests/helpers/swift.sh) on free ports
 * of 127.0.0.1 with a temp data directory, creates a bucket, and stops every process it
 * started by PID. A real object store (signatures checked, no conditional writes); it takes
 * ~10 s to start, so share one instance per test file.
 *
 * @example
 * ```ts
 * const swift = await startSwift();
 * try { await swift.makePublic(swift.bucket); fetch(swift.publicUrl(swift.bucket, "k")) }
 * finally { await swift.stop(); }
 * ```
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { openTestObjectStore, type TestObjectStore } from "./object_store.ts";

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "swift.sh");

/** A running Swift: an S3 endpoint plus Swift's own (public-read) URLs. */
export interface TestSwift extends TestObjectStore {
  /** Makes `bucket` (and `bucket+segments`, where multipart parts live) anonymously readable. */
  makePublic(bucket: string): Promise<void>;
  /** Swift's anonymous URL of a bucket: `http://127.0.0.1:PORT/v1/AUTH_test/<bucket>`. */
  publicUrl(bucket: string): string;
}

/** True when Swift's servers are installed (scripts/install-system-deps). */
export async function haveSwift(): Promise<boolean> {
  try {
    await Deno.stat("/usr/bin/swift-proxy-server");
    await Deno.stat("/usr/bin/memcached");
    return true;
  } catch {
    return false;
  }
}

/** Starts Swift (proxy on PORT, backends on PORT+1..4) and creates `bucket`. */
export async function startSwift(bucket = "registry"): Promise<TestSwift> {
  if (!await haveSwift()) {
    throw new Error("OpenStack Swift is not installed: run scripts/install-system-deps (as root)");
  }
  const dir = await Deno.makeTempDir({ prefix: "swift-" });
  const port = portRange(5);
  const stop = () => stopAll(dir);
  const started = await run([SCRIPT, "start", String(port), dir], 60_000);
  if (started.code !== 0) {
    const logs = await readLogs(dir);
    await stop();
    throw new Error(`swift did not start on port ${port}:\n${started.out}\n${logs}`);
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: "test:tester", secretAccessKey: "testing" };
  const store = await openTestObjectStore(endpoint, credentials, bucket, stop);
  const makePublic = async (name: string) => {
    const r = await run([SCRIPT, "public", String(port), name], 20_000);
    if (r.code !== 0) throw new Error(`swift.sh public ${name} failed:\n${r.out}`);
  };
  return { ...store, makePublic, publicUrl: (name) => `${endpoint}/v1/AUTH_test/${name}` };
}

/** A base port such that base..base+n-1 are all free on 127.0.0.1 right now. */
function portRange(n: number): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const held: Deno.Listener[] = [];
    try {
      const first = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      held.push(first);
      const base = (first.addr as Deno.NetAddr).port;
      if (base + n > 65535) continue;
      for (let i = 1; i < n; i++) held.push(Deno.listen({ hostname: "127.0.0.1", port: base + i }));
      return base;
    } catch {
      // one of the next ports is taken: try another base
    } finally {
      for (const l of held) l.close();
    }
  }
  throw new Error(`no ${n} consecutive free ports found on 127.0.0.1`);
}

async function run(args: string[], timeoutMs: number): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command("bash", {
    args,
    stdin: "null",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/** SIGTERM every recorded PID (a Swift server then stops its workers), SIGKILL the stragglers' groups. */
async function stopAll(dir: string): Promise<void> {
  const pids: number[] = [];
  try {
    for await (const e of Deno.readDir(path.join(dir, "run"))) {
      if (!e.name.endsWith(".pid")) continue;
      const pid = Number((await Deno.readTextFile(path.join(dir, "run", e.name))).trim());
      if (Number.isInteger(pid) && pid > 1) pids.push(pid);
    }
  } catch { /* nothing was started */ }
  for (const pid of pids) signal(pid, "SIGTERM");
  const deadline = Date.now() + 8000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  // Each server runs in its own session (setsid), so its group id is its PID: this also
  // reaches workers a killed parent left behind.
  for (const pid of pids) signal(-pid, "SIGKILL");
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat); // a zombie is gone for our purposes
  } catch {
    return false;
  }
}

function signal(pid: number, sig: Deno.Signal) {
  try {
    Deno.kill(pid, sig);
  } catch { /* already gone */ }
}

async function readLogs(dir: string): Promise<string> {
  let all = "";
  try {
    for await (const e of Deno.readDir(path.join(dir, "log"))) {
      const text = await Deno.readTextFile(path.join(dir, "log", e.name)).catch(() => "");
      if (text.trim()) all += `--- ${e.name}\n${text.slice(-2000)}\n`;
    }
  } catch { /* no logs */ }
  return all;
}
