/**
 * verifiedBody() (lib/publish/copy.ts), the check between a source and the store: what
 * failures_test.ts does not cover — progress counts, the abort signal, and that a
 * failure cancels the source body (a registry connection is not left open).
 */
import assert from "node:assert/strict";
import { verifiedBody } from "../../lib/publish/copy.ts";
import { digestOf } from "../../lib/oci/digest.ts";

const enc = new TextEncoder();

/** A source body of `parts` that records whether it was cancelled and why. */
function source(parts: Uint8Array[], opts: { hang?: boolean } = {}) {
  const seen = { cancelled: false, reason: undefined as unknown };
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (i < parts.length) return ctl.enqueue(parts[i++]);
      if (opts.hang) return new Promise(() => {}); // never more data, never the end
      ctl.close();
    },
    cancel(reason) {
      seen.cancelled = true;
      seen.reason = reason;
    },
  }, { highWaterMark: 0 });
  return { body, seen };
}

Deno.test("verifiedBody() passes a matching body through, counting bytes", async () => {
  const parts = [enc.encode("hello "), enc.encode("layer")];
  const all = enc.encode("hello layer");
  const d = { mediaType: "x", digest: digestOf(all), size: all.byteLength };
  let counted = 0;
  const out = verifiedBody(source(parts).body, d, "blob", (n) => counted += n);
  const got = new Uint8Array(await new Response(out).arrayBuffer());
  assert.deepEqual(got, all);
  assert.equal(counted, all.byteLength);
});

Deno.test("verifiedBody() cancels the source body on an overrun", async () => {
  const all = enc.encode("abc");
  const d = { mediaType: "x", digest: digestOf(all), size: 3 };
  const { body, seen } = source([all, enc.encode("def"), enc.encode("never read")]);
  await assert.rejects(
    () => new Response(verifiedBody(body, d, "blob")).arrayBuffer(),
    /more than the descriptor size 3 bytes/,
  );
  assert.ok(seen.cancelled, "the source body is cancelled");
});

Deno.test("verifiedBody() stops at once when its signal aborts, cancelling the source", async () => {
  const all = enc.encode("abcdef");
  const d = { mediaType: "x", digest: digestOf(all), size: 6 };
  const { body, seen } = source([enc.encode("abc")], { hang: true });
  const ctl = new AbortController();
  const reader = verifiedBody(body, d, "blob", undefined, ctl.signal).getReader();
  assert.deepEqual((await reader.read()).value, enc.encode("abc"));
  const next = reader.read(); // waits on a source that never sends more
  const why = new Error("interrupted");
  ctl.abort(why);
  await assert.rejects(next, (e) => e === why);
  assert.ok(seen.cancelled);
  assert.equal(seen.reason, why);
});
