/**
 * @module
 * The unit-level refresh-fault harness: a ReadStore wrapper whose documents can disappear
 * (answer "missing", as a CDN miss or an rsync in progress does) and come back, counting
 * the reads of each key.
 */
import type { ReadResult, ReadStore } from "../../lib/store/store.ts";

export class FaultStore implements ReadStore {
  /** Keys that answer "missing" while listed here. */
  readonly hidden = new Set<string>();
  /** Reads per key. */
  readonly reads = new Map<string, number>();
  constructor(private inner: ReadStore) {}
  get location(): string {
    return this.inner.location;
  }
  read(key: string, opts?: { etag?: string }): Promise<ReadResult> {
    this.reads.set(key, (this.reads.get(key) ?? 0) + 1);
    if (this.hidden.has(key)) return Promise.resolve({ status: "missing" });
    return this.inner.read(key, opts);
  }
  stat(key: string) {
    return this.hidden.has(key) ? Promise.resolve(null) : this.inner.stat(key);
  }
}
