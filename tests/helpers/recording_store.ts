/**
 * @module
 * A `ReadStore` over another that records every key read, for tests that count a
 * refresh's requests. Subclasses change what a read answers by overriding `answer`.
 */
import type { ReadResult, ReadStore } from "../../lib/store/store.ts";

export class RecordingStore implements ReadStore {
  reads: string[] = [];
  constructor(protected inner: ReadStore) {}
  get location() {
    return this.inner.location;
  }
  async read(key: string, opts?: { etag?: string }): Promise<ReadResult> {
    this.reads.push(key);
    return await this.answer(key, opts);
  }
  /** What a read of `key` answers (by default the inner store's). */
  protected answer(key: string, opts?: { etag?: string }): Promise<ReadResult> {
    return this.inner.read(key, opts);
  }
  stat(key: string) {
    return this.inner.stat(key);
  }
  /** The keys read since the last take. */
  take(): string[] {
    const r = this.reads;
    this.reads = [];
    return r;
  }
}
