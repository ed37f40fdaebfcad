/**
 * @module
 * One HTTP/1.1 request over a raw TCP socket (node:net), bytes sent exactly as given: the
 * request line is not normalised the way `fetch` normalises URLs (`..`, `%2e%2e`, raw
 * non-ASCII, control bytes, unknown method tokens all reach the server verbatim). The
 * request asks for `Connection: close`, so the response is everything until EOF.
 */
import * as net from "node:net";
import { Buffer } from "node:buffer";

/** What came back. `status` is null when the server closed the connection without a response. */
export interface RawResponse {
  status: number | null;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body, de-chunked when `Transfer-Encoding: chunked`. */
  body: Uint8Array;
  /** Every byte received, for canary searches that must not depend on parsing. */
  raw: Uint8Array;
}

/**
 * Sends `head` (request line and headers, CRLF-terminated, ending with an empty line) to
 * 127.0.0.1:`port` and reads until the server closes. Rejects on socket errors other than a
 * reset after a complete response, and after `timeoutMs`.
 */
export function rawRequest(
  port: number,
  head: Uint8Array,
  timeoutMs = 10_000,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: "127.0.0.1" });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`raw request: no end of response in ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on("data", (d: Buffer) => chunks.push(d));
    sock.on("error", (e) => {
      clearTimeout(timer);
      // A server that answers and then resets (rejected garbage) still answered.
      const got = Buffer.concat(chunks);
      if ((e as NodeJS.ErrnoException).code === "ECONNRESET") resolve(parseResponse(got));
      else reject(e);
    });
    sock.on("end", () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(parseResponse(Buffer.concat(chunks)));
    });
    sock.write(head);
  });
}

/** Parses a complete HTTP/1.1 response (as read until EOF). */
export function parseResponse(raw: Uint8Array): RawResponse {
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const end = buf.indexOf("\r\n\r\n");
  if (buf.length === 0 || end < 0) {
    return { status: null, headers: {}, body: new Uint8Array(0), raw };
  }
  const lines = buf.subarray(0, end).toString("latin1").split("\r\n");
  const m = lines[0].match(/^HTTP\/1\.[01] (\d{3})/);
  if (!m) throw new Error(`raw request: not an HTTP response: ${JSON.stringify(lines[0])}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let body: Uint8Array = new Uint8Array(buf.subarray(end + 4));
  if (/chunked/i.test(headers["transfer-encoding"] ?? "")) body = dechunk(body);
  return { status: Number(m[1]), headers, body, raw };
}

function dechunk(b: Uint8Array): Uint8Array {
  const buf = Buffer.from(b);
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf("\r\n", at);
    if (eol < 0) break;
    const size = parseInt(buf.subarray(at, eol).toString("latin1"), 16);
    if (!(size > 0)) break;
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return new Uint8Array(Buffer.concat(out));
}
