/**
 * @module
 * HTTP fuzzing of the COMPILED binary serving a published store: ~10k generated requests
 * (tests/reliability/fuzz_grammar.ts), half through `fetch`, half verbatim over raw sockets,
 * 32 at a time. Every response is checked (see {@link violations}): no 5xx, spec error
 * bodies on 4xx, 405 on every non-GET/HEAD under /v2, content that matches its digest, and
 * neither canary (a file next to the store, an unreferenced blob inside it) ever served.
 * A raw request with an odd Host (none, empty, `a/b`, `a@b`, non-ASCII...) is answered
 * with the status its twin with a good Host gets: routing reads the target alone.
 * The process must stay alive throughout. `FUZZ_REQUESTS` changes the count, `FUZZ_SEED`
 * replays a run (fast-check prints the seed of a failure).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { ERROR_CODES } from "../../lib/oci/errors.ts";
import { knownDigests, makeReliabilityStore } from "./fixture.ts";
import { type FuzzRequest, GOOD_HOST, rawHead, requestArb } from "./fuzz_grammar.ts";
import { rawRequest } from "./raw_http.ts";
import { alive, serveBinary } from "./registry.ts";

const BATCH = 32;

/** A response, whoever sent it: the app, or the runtime's HTTP layer before the app. */
interface Answer {
  status: number | null;
  headers: Record<string, string>;
  body: Uint8Array;
  /** Everything received (raw sockets: status line and headers too). */
  bytes: Uint8Array;
}

async function send(base: string, port: number, r: FuzzRequest): Promise<Answer> {
  if (r.via === "raw") {
    const res = await rawRequest(port, rawHead(r));
    return { status: res.status, headers: res.headers, body: res.body, bytes: res.raw };
  }
  const res = await fetch(base + r.targetText, {
    method: r.method,
    headers: r.headers,
    redirect: "manual",
    signal: AbortSignal.timeout(10_000),
  });
  const body = new Uint8Array(await res.arrayBuffer());
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => (headers[k] = v));
  return { status: res.status, headers, body, bytes: body };
}

/**
 * Whether the request is for a /v2 path. fetch normalises `..` and `%2e%2e` (WHATWG URL),
 * and so does the runtime for raw targets: `/v2/%2e%2e/x` arrives as `/x`. Only a target
 * that is under /v2 both as sent and after normalisation counts.
 */
function underV2(base: string, r: FuzzRequest): boolean {
  const isV2 = (p: string) => p === "/v2" || p.startsWith("/v2/");
  if (r.via === "fetch") return isV2(new URL(base + r.targetText).pathname);
  // Raw: the bytes actually sent (a stray byte may have been inserted).
  const sent = new TextDecoder("latin1").decode(r.target);
  let normalised: string;
  try {
    normalised = new URL(base + sent).pathname;
  } catch {
    return false;
  }
  return isV2(sent.split("?")[0]) && isV2(normalised);
}

interface Context {
  base: string;
  tokens: string[];
  /** Whether /readyz says "not ready" (the one case a 503 is allowed). */
  notReady(): Promise<boolean>;
}

/** What is wrong with `a` as the answer to `r` (empty: nothing). */
async function violations(ctx: Context, r: FuzzRequest, a: Answer): Promise<string[]> {
  const out: string[] = [];
  const text = new TextDecoder("latin1").decode(a.bytes);
  for (const t of ctx.tokens) if (text.includes(t)) out.push(`served canary ${t}`);
  const fromApp = a.headers["docker-distribution-api-version"] === "registry/2.0";
  if (a.status === null) {
    // The runtime drops requests with a method token it does not know, without answering.
    if (r.wellFormed) out.push("connection closed without a response");
    return out;
  }
  if (!fromApp) {
    // Refused by the runtime's parser before the app: only for malformed HTTP, and only
    // 400/431 — or 505, which Bun sends for a control byte or space inside the target.
    if (r.wellFormed) out.push(`status ${a.status} without the API version header`);
    else if (![400, 431, 505].includes(a.status)) out.push(`runtime answered ${a.status}`);
    return out;
  }
  if (a.status >= 500 && !(a.status === 503 && await ctx.notReady())) {
    out.push(`server error ${a.status}: ${text.slice(0, 300)}`);
  }
  const v2 = underV2(ctx.base, r);
  if (r.method === "HEAD") {
    if (a.body.byteLength) out.push(`HEAD answered with a ${a.body.byteLength}-byte body`);
  } else if (a.status >= 400 && a.status < 500) {
    // distribution-spec §"Error Codes": {"errors":[{"code","message","detail"}]}.
    const problem = errorBodyProblem(a.body);
    if (problem) out.push(`${a.status} body: ${problem}`);
  }
  if (v2 && r.method !== "GET" && r.method !== "HEAD" && a.status !== 405) {
    out.push(`${r.method} on /v2 answered ${a.status}, want 405 UNSUPPORTED`);
  }
  if (a.status === 405 && a.headers["allow"] !== "GET, HEAD") {
    out.push(`405 with Allow ${JSON.stringify(a.headers["allow"])}`);
  }
  // Content is what its digest says (blobs and manifests, whole-body GETs).
  const digest = a.headers["docker-content-digest"];
  if (a.status === 200 && r.method === "GET" && digest?.startsWith("sha256:")) {
    const actual = "sha256:" + createHash("sha256").update(a.body).digest("hex");
    if (actual !== digest) out.push(`body digest ${actual} != Docker-Content-Digest ${digest}`);
  }
  if (a.status === 206 && !/^bytes \d+-\d+\/\d+$/.test(a.headers["content-range"] ?? "")) {
    out.push(`206 with Content-Range ${JSON.stringify(a.headers["content-range"])}`);
  }
  return out;
}

function errorBodyProblem(body: Uint8Array): string | null {
  let doc: { errors?: { code?: unknown; message?: unknown }[] };
  try {
    doc = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return `not JSON: ${JSON.stringify(new TextDecoder().decode(body).slice(0, 100))}`;
  }
  if (!Array.isArray(doc.errors) || doc.errors.length === 0) return "no errors array";
  for (const e of doc.errors) {
    if (typeof e.code !== "string" || !(e.code in ERROR_CODES)) return `code ${String(e.code)}`;
    if (typeof e.message !== "string" || !e.message) return "no message";
  }
  return null;
}

function describe(r: FuzzRequest): string {
  // Raw requests: the bytes sent (latin1), stray byte included.
  const text = r.via === "raw" ? new TextDecoder("latin1").decode(r.target) : r.targetText;
  const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  // Escape what would not show: unicode spaces, controls, lookalikes.
  const target = shown.replace(
    /[^\x21-\x7e]/gu,
    (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`,
  );
  const hs = r.headers.map(([k, v]) => `${k}(${v.length})`).join(",");
  const host = r.via === "raw" && r.host !== GOOD_HOST ? ` Host=${JSON.stringify(r.host)}` : "";
  return `${r.via} ${JSON.stringify(r.method)} "${target}" [${hs}]${host}` +
    (r.wellFormed ? "" : " (malformed)");
}

Deno.test({
  name: "fuzz: 10k random requests to the binary — no 5xx, spec errors, no canary, no crash",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const total = Number(Deno.env.get("FUZZ_REQUESTS") ?? 10_000);
    const seed = Deno.env.get("FUZZ_SEED");
    const s = await makeReliabilityStore();
    const reg = await serveBinary(s.tmp, {
      store: s.store,
      v1: { origin: "http://127.0.0.1:9/v1" },
      log: { level: "warn" },
    });
    try {
      const ready = await fetch(`${reg.url}/readyz`);
      await ready.body?.cancel();
      assert.equal(ready.status, 200, "not ready before fuzzing");
      const ctx: Context = {
        base: reg.url,
        tokens: [s.outsideToken, s.orphanToken],
        notReady: async () => {
          const res = await fetch(`${reg.url}/readyz`);
          await res.body?.cancel();
          return res.status === 503;
        },
      };
      const vocab = {
        repos: Object.keys(s.repos),
        tags: ["v1", "latest"],
        digests: knownDigests(s),
      };
      const stats = new Map<string, number>();
      const bump = (k: string) => stats.set(k, (stats.get(k) ?? 0) + 1);
      let sent = 0;
      const t0 = performance.now();
      const run = await fc.check(
        fc.asyncProperty(
          fc.array(requestArb(vocab), { minLength: BATCH, maxLength: BATCH }),
          async (batch) => {
            const problems = await Promise.all(batch.map(async (r) => {
              let a: Answer;
              try {
                a = await send(reg.url, reg.port, r);
              } catch (e) {
                bump(`${r.via}:error`);
                return r.wellFormed ? [`${describe(r)}: ${(e as Error).message}`] : [];
              }
              bump(`${r.via}:${a.status ?? "closed"}`);
              const v = await violations(ctx, r, a);
              if (r.via === "raw" && r.host !== GOOD_HOST && r.wellFormed) {
                bump(`raw-odd-host:${a.status ?? "closed"}`);
                const twin = await send(reg.url, reg.port, { ...r, host: GOOD_HOST });
                if (twin.status !== a.status) {
                  v.push(
                    `${a.status} with Host ${JSON.stringify(r.host)}, ${twin.status} with ` +
                      `Host ${GOOD_HOST}: routing must read the request-target alone`,
                  );
                }
              }
              const hs = JSON.stringify(a.headers);
              return v.map((x) => `${describe(r)} → ${a.status} ${hs}: ${x}`);
            }));
            sent += batch.length;
            const flat = problems.flat();
            if (!(await alive(reg.pid))) flat.push(`registry process died:\n${reg.logs()}`);
            assert.deepEqual(flat, []);
          },
        ),
        {
          numRuns: Math.ceil(total / BATCH),
          endOnFailure: true,
          seed: seed ? Number(seed) : undefined,
        },
      );
      // The failing batch itself is 32 requests with headers of up to 48 KB: report only
      // the violations (they name each request) and how to replay the run.
      if (run.failed) {
        const why = run.errorInstance instanceof Error ? run.errorInstance.message : "";
        assert.fail(`fuzz failed after ${sent} requests (replay: FUZZ_SEED=${run.seed}):\n${why}`);
      }
      const seconds = (performance.now() - t0) / 1000;
      const summary = [...stats].sort().map(([k, n]) => `${k}=${n}`).join(" ");
      console.log(`fuzz: ${sent} requests in ${seconds.toFixed(1)} s; ${summary}`);
      // Not vacuous: both transports answered, with content, errors and refusals of writes.
      const kinds = ["fetch:200", "raw:200", "fetch:404", "raw:400", "raw:404", "fetch:405"];
      for (const k of [...kinds, "raw-odd-host:200", "raw-odd-host:404"]) {
        assert.ok((stats.get(k) ?? 0) > 0, `no ${k} among the answers: ${summary}`);
      }
      assert.ok(sent >= total, `only ${sent} of ${total} requests sent`);
      const v2 = await fetch(`${reg.url}/v2/`);
      await v2.body?.cancel();
      assert.equal(v2.status, 200, "registry stopped answering after the fuzz");
    } finally {
      await reg.stop();
      await s.cleanup();
    }
  },
});
