/**
 * @module
 * fast-check arbitraries for HTTP requests against the registry: paths built from the real
 * route shapes (distribution-spec §"Endpoints": `/v2/<name>/manifests/<reference>`,
 * `/blobs/<digest>`, `/tags/list`, `/referrers/<digest>`, `/_catalog`) with real and
 * hostile parts mixed in (traversal in every spelling, `%2F`, `%00`, overlong segments,
 * unicode), methods (known and odd tokens), headers up to tens of KB, and query strings
 * (`n`, `last`, `artifactType`) with garbage values.
 *
 * Raw requests also vary the `Host` header ({@link ODD_HOSTS}: none on HTTP/1.0, empty,
 * with `/`, `?`, `#`, `@`, a space, non-ASCII, an open bracket, a bad port): routing must
 * not depend on it (issue 9, defect 5), which fuzz_test.ts checks against a twin request
 * with a good Host.
 *
 * Each request says whether it is *well formed* HTTP/1.1 for the server's parser (a method
 * token the runtime knows, a request-target of visible bytes, a header block under its
 * limit). Well-formed requests must reach the app; the others may be refused by the
 * runtime's HTTP layer (see fuzz_test.ts).
 */
import fc from "fast-check";

/** A generated request. */
export interface FuzzRequest {
  /** `fetch` (URL normalised by the client) or `raw` (bytes sent verbatim). */
  via: "fetch" | "raw";
  method: string;
  /** Request-target bytes as sent on a raw socket (path and `?query`). */
  target: Uint8Array;
  /** The same target as text, for fetch and for messages. */
  targetText: string;
  headers: [string, string][];
  /** Raw requests: the `Host` header's bytes (latin1), or null for none (sent as HTTP/1.0). */
  host: string | null;
  /** Whether the runtime's HTTP parser must accept it (and the app must answer). */
  wellFormed: boolean;
}

/** The Host of ordinary raw requests. */
export const GOOD_HOST = "127.0.0.1";

/**
 * Hosts from which Bun cannot build a URL (it then hands over the target alone) or builds
 * an odd one, as latin1 byte strings. `null`: no Host line, on HTTP/1.0 (on HTTP/1.1 the
 * runtime must refuse it with 400, RFC 9112 §3.2).
 */
export const ODD_HOSTS: readonly (string | null)[] = [
  null,
  "",
  "a/b",
  "a?b",
  "a#b",
  "a@b",
  "user:secret@127.0.0.1",
  "a b",
  "\xe9t\xe9", // latin1 bytes
  "\xe6\x97\xa5\xe6\x9c\xac", // UTF-8 of 日本
  "[::1",
  "127.0.0.1:99999",
  "%41",
  "127.0.0.1/v2",
];

/** Methods Bun's HTTP parser accepts (checked on this binary: each reaches the app → 405). */
export const KNOWN_METHODS = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "PATCH",
  "OPTIONS",
  "PROPFIND",
  "M-SEARCH",
  "PURGE",
  "LINK",
  "QUERY",
];
/** Methods `fetch` may send (CONNECT/TRACE/TRACK are forbidden to it). */
const FETCH_METHODS = KNOWN_METHODS.filter((m) => !["M-SEARCH", "QUERY", "LINK"].includes(m));
/** Request heads above this many bytes may be refused with 431 (Bun's limit is 16 KiB). */
export const HEADER_LIMIT_SAFE = 15_000;

const enc = new TextEncoder();

/** What the fuzzer may name: real repositories, tags and digests from the fixture. */
export interface Vocabulary {
  repos: string[];
  tags: string[];
  digests: string[];
}

const TRAVERSAL = [
  "..",
  ".",
  "%2e%2e",
  "%2E%2E",
  ".%2e",
  "%2e.",
  "%252e%252e",
  "..%2F..%2F",
  "..%2f..%2fcanary.txt",
  "..%5c..%5c",
  "..\\..\\",
  "canary.txt",
  "../canary.txt",
  "%2e%2e%2fcanary.txt",
];
const GARBAGE = [
  "",
  "%2F",
  "%00",
  "%",
  "%z",
  "%zz",
  "%C3%A9",
  "%FF",
  "%ff%fe",
  "é",
  "😀",
  "日本",
  "a;b",
  ";",
  "~",
  "UPPER",
  "a__b",
  "a--b",
  "-a",
  "a.",
  "_catalog",
  "manifests",
  "blobs",
  "tags",
  "list",
  "referrers",
  "uploads",
  "v2",
  "?",
  "#frag",
  "a b",
  "%20",
  "\u0000",
];

const hex = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: min, maxLength: max });
const overlong = fc.constantFrom(100, 255, 256, 1000, 4096, 12_000).map((n) => "a".repeat(n));
const validName = fc.stringMatching(/^[a-z0-9]{1,8}([._-][a-z0-9]{1,6})?(\/[a-z0-9]{1,8}){0,3}$/);

function segments(v: Vocabulary) {
  const segment = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...TRAVERSAL) },
    { weight: 4, arbitrary: fc.constantFrom(...GARBAGE) },
    { weight: 2, arbitrary: fc.constantFrom(...v.repos) },
    { weight: 1, arbitrary: overlong },
    { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }) },
  );
  return fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => s.join("/"));
}

function digestArb(v: Vocabulary) {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...v.digests) },
    { weight: 1, arbitrary: hex(0, 70).map((h) => `sha256:${h}`) },
    { weight: 1, arbitrary: hex(128, 128).map((h) => `sha512:${h}`) },
    { weight: 1, arbitrary: hex(64, 64).map((h) => `sha256%3A${h}`) },
    { weight: 1, arbitrary: hex(64, 64).map((h) => `SHA256:${h.toUpperCase()}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("md5:abc", "sha256:", ":", "sha256:../../canary.txt", "sha256"),
    },
    { weight: 1, arbitrary: fc.constantFrom(...TRAVERSAL) },
  );
}

function referenceArb(v: Vocabulary) {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...v.tags) },
    { weight: 3, arbitrary: digestArb(v) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,20}$/) },
    { weight: 1, arbitrary: fc.constant("a".repeat(129)) },
    { weight: 2, arbitrary: fc.constantFrom(...TRAVERSAL, ...GARBAGE) },
  );
}

/** Paths: real route shapes with real or hostile parts, and a few non-/v2 endpoints. */
export function pathArb(v: Vocabulary): fc.Arbitrary<string> {
  const name = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...v.repos) },
    { weight: 2, arbitrary: validName },
    { weight: 3, arbitrary: segments(v) },
  );
  const endpoint = fc.oneof(
    { weight: 3, arbitrary: referenceArb(v).map((r) => `manifests/${r}`) },
    { weight: 3, arbitrary: digestArb(v).map((d) => `blobs/${d}`) },
    { weight: 2, arbitrary: fc.constant("tags/list") },
    { weight: 1, arbitrary: digestArb(v).map((d) => `referrers/${d}`) },
    { weight: 1, arbitrary: fc.constantFrom("blobs/uploads/", "blobs/uploads/abc") },
    { weight: 1, arbitrary: segments(v) },
  );
  return fc.oneof(
    { weight: 10, arbitrary: fc.tuple(name, endpoint).map(([n, e]) => `/v2/${n}/${e}`) },
    {
      weight: 2,
      arbitrary: fc.constantFrom("/v2", "/v2/", "/v2/_catalog", "/v2//", "/v2/_catalog/"),
    },
    { weight: 2, arbitrary: segments(v).map((s) => `/v2/${s}`) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        "/",
        "/canary.txt",
        "/../canary.txt",
        "/v2/../canary.txt",
        "/v2/%2e%2e/canary.txt",
        "/v2/%2e%2e/%2e%2e/canary.txt",
        "/v2/..%2F..%2Fcanary.txt",
        "/static-registry.json",
        "/catalog.json",
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/_ping",
        "/v1/repositories/x/tags",
        "/v1",
      ),
    },
    { weight: 2, arbitrary: segments(v).map((s) => `/${s}`) },
  );
}

/** Query strings: paging and filter parameters with real and garbage values. */
export function queryArb(v: Vocabulary): fc.Arbitrary<string> {
  const n = fc.oneof(
    fc.integer({ min: -5, max: 2000 }).map(String),
    fc.constantFrom("", "abc", "1e3", "0x10", "99999999999999999999", "-0", " 1", "NaN", "%31"),
  );
  const last = fc.oneof(
    fc.constantFrom(...v.repos, ...v.tags),
    fc.constantFrom(...TRAVERSAL, ...GARBAGE),
    fc.string({ maxLength: 20 }),
  );
  const artifactType = fc.oneof(
    fc.constantFrom("application/vnd.example.sbom.v1+json", "a/b", "", "%00", "*/*"),
    fc.string({ maxLength: 40 }),
  );
  const param = fc.oneof(
    n.map((x) => `n=${x}`),
    last.map((x) => `last=${x}`),
    artifactType.map((x) => `artifactType=${x}`),
    fc.constantFrom("", "=", "&", "n", "last", "n=1=2", "%zz=1", "a[]=1"),
  );
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant("") },
    {
      weight: 4,
      arbitrary: fc.array(param, { minLength: 1, maxLength: 5 }).map((p) => p.join("&")),
    },
  );
}

function headersArb(v: Vocabulary): fc.Arbitrary<[string, string][]> {
  const header = fc.oneof(
    fc.constantFrom<[string, string]>(
      ["Accept", "application/vnd.oci.image.manifest.v1+json"],
      ["Accept", "application/vnd.docker.distribution.manifest.v2+json, */*;q=0.1"],
      ["Accept", "garbage/;;;"],
      ["Range", "bytes=0-10"],
      ["Range", "bytes=-5"],
      ["Range", "bytes=999999999-"],
      ["Range", "bytes=5-1"],
      ["Range", "bytes=0-0,5-6"],
      ["Range", "bytes=garbage"],
      ["If-None-Match", "*"],
      ["Authorization", "Bearer x"],
      ["Accept-Encoding", "gzip, br"],
    ),
    fc.constantFrom(...v.digests).map((d): [string, string] => ["If-None-Match", `"${d}"`]),
    fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz-"), minLength: 1 })
      .chain((name) =>
        fc.string({ unit: "binary-ascii", maxLength: 64 }).map((val): [string, string] => [
          `X-${name}`,
          val.replace(/[^\x20-\x7e]/g, "."),
        ])
      ),
  );
  // Header sizes: mostly small, sometimes around and far over the runtime's 16 KiB limit.
  const pad = fc.oneof(
    { weight: 8, arbitrary: fc.constant(0) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 14_000 }) },
    { weight: 1, arbitrary: fc.integer({ min: 14_000, max: 48_000 }) },
  );
  return fc.tuple(fc.array(header, { maxLength: 4 }), pad).map(([hs, n]) =>
    n ? [...hs, ["X-Fuzz-Pad", "p".repeat(n)]] : hs
  );
}

const isToken = (m: string) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(m);

/** The generated requests, half sent with fetch and half over a raw socket. */
export function requestArb(v: Vocabulary): fc.Arbitrary<FuzzRequest> {
  const fetchMethod = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("GET", "HEAD") },
    { weight: 2, arbitrary: fc.constantFrom(...FETCH_METHODS) },
  );
  const rawMethod = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("GET", "HEAD") },
    { weight: 2, arbitrary: fc.constantFrom(...KNOWN_METHODS) },
    { weight: 1, arbitrary: fc.constantFrom("get", "FOO", "X", "G@T", "", "GET GET", "BREW") },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Z-]{1,12}$/) },
  );
  // One stray byte (any value) in the raw request-target, sometimes.
  const stray = fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { freq: 8 });
  return fc.record({
    via: fc.constantFrom<"fetch" | "raw">("fetch", "raw"),
    fetchMethod,
    rawMethod,
    path: pathArb(v),
    query: queryArb(v),
    headers: headersArb(v),
    stray,
    host: fc.oneof(
      { weight: 3, arbitrary: fc.constant<string | null>(GOOD_HOST) },
      { weight: 1, arbitrary: fc.constantFrom(...ODD_HOSTS) },
    ),
  }).map(({ via, fetchMethod, rawMethod, path, query, headers, stray, host }) => {
    const targetText = query ? `${path}?${query}` : path;
    let target = enc.encode(targetText);
    if (via === "raw" && stray) {
      const at = 1 + (stray[0] % Math.max(1, target.length - 1));
      target = new Uint8Array([...target.subarray(0, at), stray[1], ...target.subarray(at)]);
    }
    const method = via === "fetch" ? fetchMethod : rawMethod;
    // The runtime's limit is on the whole head: request line and every header (fetch adds
    // a few hundred bytes of its own; the margin below the limit covers them).
    const headBytes = method.length + target.length +
      headers.reduce((n, [k, val]) => n + k.length + val.length + 4, 0);
    const wellFormed = KNOWN_METHODS.includes(method) && isToken(method) &&
      target[0] === 0x2f && target.every((b) => b > 0x20) && headBytes < HEADER_LIMIT_SAFE;
    return {
      via,
      method,
      target,
      targetText,
      headers,
      host: via === "raw" ? host : GOOD_HOST,
      wellFormed,
    };
  });
}

/**
 * The request head for a raw socket: request line, Host (none: HTTP/1.0), Connection:
 * close, headers.
 */
export function rawHead(r: FuzzRequest): Uint8Array {
  const lines = [
    ...(r.host === null ? [] : [`Host: ${r.host}`]),
    `Connection: close`,
    ...r.headers.map(([k, v]) => `${k}: ${v}`),
  ];
  const version = r.host === null ? "HTTP/1.0" : "HTTP/1.1";
  const tail = latin1(` ${version}\r\n${lines.join("\r\n")}\r\n\r\n`);
  const method = enc.encode(r.method);
  return new Uint8Array([...method, 0x20, ...r.target, ...tail]);
}

/** A string of byte values (latin1) as those bytes; header values here are ASCII or hosts. */
function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}
