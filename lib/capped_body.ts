/**
 * @module
 * Reading a small HTTP body whole, with a cap: a marker, a manifest. A server that sends
 * more than the cap (a misconfigured origin, a hostile registry) must not make us buffer
 * it all first.
 */

/**
 * The body's bytes. Once more than `max` bytes have arrived, cancels the rest (it is not
 * read) and throws `tooLarge()`.
 */
export async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  max: number,
  tooLarge: () => Error,
): Promise<Uint8Array> {
  if (!body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let n = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
