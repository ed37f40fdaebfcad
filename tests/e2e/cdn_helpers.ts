/**
 * @module
 * Small helpers shared by the CDN-mode end-to-end tests (cdn_*_test.ts, store_faults_test.ts):
 * reading the registry's `/metrics` counters, parsing an nginx edge's access log for blob
 * GETs, asking the registry where a blob GET is redirected, publishing with `--config`
 * (S3 stores), and polling with a deadline.
 */
import assert from "node:assert/strict";
import { runBinary } from "../helpers/binary.ts";
import { requestCount } from "../helpers/metrics.ts";
import type { Nginx } from "../helpers/nginx.ts";

/** `static_registry_requests_total{route,status}` (all methods) from the registry's /metrics (0 if absent). */
export async function metric(url: string, route: string, status: number): Promise<number> {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  assert.equal(res.status, 200, `/metrics: ${text}`);
  return requestCount(text, route, status);
}

/** One blob request in an nginx access log ("combined" format). */
export interface EdgeHit {
  method: string;
  /** `sha256:<hex>` */
  digest: string;
  status: number;
  /** Body bytes sent to the client. */
  bytes: number;
}

/** Every `/blobs/sha256/<hex>` request in `edge`'s access log, in order. */
export async function edgeBlobHits(edge: Nginx): Promise<EdgeHit[]> {
  const text = await Deno.readTextFile(`${edge.dir}/access.log`).catch(() => "");
  const out: EdgeHit[] = [];
  // ... "GET /blobs/sha256/<hex> HTTP/1.1" 200 131072 "-" "ua"
  const re = /"(GET|HEAD) \/blobs\/sha256\/([0-9a-f]{64}) HTTP\/1\.[01]" (\d{3}) (\d+)/;
  for (const line of text.split("\n")) {
    const m = re.exec(line);
    if (m) {
      out.push({ method: m[1], digest: `sha256:${m[2]}`, status: +m[3], bytes: +m[4] });
    }
  }
  return out;
}

/** Successful (200/206) blob GETs in `edge`'s access log so far. */
export async function edgeBlobGets(edge: Nginx): Promise<number> {
  return (await edgeBlobHits(edge)).filter((h) =>
    h.method === "GET" && (h.status === 200 || h.status === 206)
  ).length;
}

/** Status and Location of `GET /v2/<repo>/blobs/<digest>` without following redirects. */
export async function blobRedirect(
  url: string,
  repo: string,
  digest: string,
): Promise<{ status: number; location: string | null }> {
  const res = await fetch(`${url}/v2/${repo}/blobs/${digest}`, {
    redirect: "manual",
    signal: AbortSignal.timeout(5000),
  });
  await res.body?.cancel();
  return { status: res.status, location: res.headers.get("location") };
}

/** `GET /readyz` as JSON, with its status. */
export async function readyz(
  url: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.json() };
}

/**
 * Polls `fn` every `everyMs` until it returns a truthy value or `ms` pass; returns the last
 * value and the time it took. The caller asserts (so a failure says what was seen last).
 */
export async function poll<T>(
  fn: () => Promise<T>,
  ms: number,
  everyMs = 100,
): Promise<{ value: T; elapsedMs: number }> {
  const t0 = Date.now();
  let value = await fn();
  while (!value && Date.now() - t0 < ms) {
    await new Promise((r) => setTimeout(r, everyMs));
    value = await fn();
  }
  return { value, elapsedMs: Date.now() - t0 };
}

/**
 * `static-registry publish oci:LAYOUT:TAG REF --to STORE --config CFG`, asserted to succeed
 * (the config carries the `s3` settings of an s3:// store).
 */
export async function publishWithConfig(
  layout: string,
  tag: string,
  ref: string,
  store: string,
  configPath: string,
) {
  const r = await runBinary([
    "publish",
    `oci:${layout}:${tag}`,
    ref,
    "--to",
    store,
    "--config",
    configPath,
  ]);
  assert.equal(
    r.code,
    0,
    `publish oci:${layout}:${tag} ${ref} --to ${store} exited ${r.code}:\n${r.stderr}\n${r.stdout}`,
  );
  return r;
}
