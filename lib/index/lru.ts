/**
 * @module
 * A least-recently-used cache bounded by the total byte size of its values. Manifests are
 * small (a few KiB) but a registry can hold millions, so the server keeps the hot ones.
 */

/** A byte-bounded LRU map. `const c = new ByteLru<Uint8Array>(64 << 20, (v) => v.byteLength)`. */
export class ByteLru<V> {
  readonly maxBytes: number;
  #bytes = 0;
  // A Map iterates in insertion order: the first key is the least recently used.
  #map = new Map<string, V>();
  #sizeOf: (v: V) => number;

  constructor(maxBytes: number, sizeOf: (v: V) => number) {
    this.maxBytes = maxBytes;
    this.#sizeOf = sizeOf;
  }

  /** The value for `key`, marking it most recently used. */
  get(key: string): V | undefined {
    const v = this.#map.get(key);
    if (v === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, v);
    return v;
  }

  /** Stores `value`; a value larger than the whole cache is not kept. */
  set(key: string, value: V): void {
    const size = this.#sizeOf(value);
    this.delete(key);
    if (size > this.maxBytes) return;
    this.#map.set(key, value);
    this.#bytes += size;
    for (const [k, v] of this.#map) {
      if (this.#bytes <= this.maxBytes) break;
      this.#map.delete(k);
      this.#bytes -= this.#sizeOf(v);
    }
  }

  delete(key: string): void {
    const v = this.#map.get(key);
    if (v === undefined) return;
    this.#map.delete(key);
    this.#bytes -= this.#sizeOf(v);
  }

  get size(): number {
    return this.#map.size;
  }

  get bytes(): number {
    return this.#bytes;
  }
}
