/**
 * @module
 * Bounded concurrency for reading many small documents (one tag index per repository):
 * enough requests in flight to hide store latency, few enough not to flood S3 or a CDN.
 */

/**
 * Maps `items` through `fn` with at most `limit` calls in flight; results keep the input
 * order. The first rejection rejects the whole call (remaining items are not started).
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  async function worker(): Promise<void> {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  }
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker);
  await Promise.all(workers);
  return out;
}
