/**
 * @module
 * Digests (OCI image-spec §"Digests"): `algorithm ":" encoded`. We accept the two
 * registered algorithms, sha256 (64 lowercase hex) and sha512 (128 lowercase hex).
 */
import { createHash, type Hash } from "node:crypto";
import { errors } from "./errors.ts";

export type Algorithm = "sha256" | "sha512";
const HEX_LENGTH: Record<Algorithm, number> = { sha256: 64, sha512: 128 };
/** image-spec grammar: algorithm-component and encoded, before registration checks. */
const GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export interface ParsedDigest {
  digest: string;
  algorithm: Algorithm;
  hex: string;
}

/** Why `s` is not a digest we serve, or null. */
export function digestProblem(s: string): string | null {
  if (!GRAMMAR.test(s)) return "must be algorithm:hex";
  const [algorithm, hex] = s.split(":", 2);
  if (!(algorithm in HEX_LENGTH)) return `unsupported algorithm "${algorithm}" (sha256, sha512)`;
  const want = HEX_LENGTH[algorithm as Algorithm];
  if (hex.length !== want || !/^[0-9a-f]+$/.test(hex)) {
    return `${algorithm} needs ${want} lowercase hex characters`;
  }
  return null;
}

export function isDigest(s: string): boolean {
  return digestProblem(s) === null;
}

/** Parses a digest or throws DIGEST_INVALID. */
export function parseDigest(s: string): ParsedDigest {
  const why = digestProblem(s);
  if (why) throw errors.digestInvalid(s, why);
  const [algorithm, hex] = s.split(":", 2) as [Algorithm, string];
  return { digest: s, algorithm, hex };
}

/** Digest of bytes with the given algorithm (sha256 by default). */
export function digestOf(bytes: Uint8Array | string, algorithm: Algorithm = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}

/** An incremental hash as node:crypto's `Hash` and Bun's `CryptoHasher` both are. */
export interface Hasher {
  update(chunk: Uint8Array): unknown;
  digest(encoding: "hex"): string;
}

/**
 * Incremental digest and size, for verifying a blob while it is copied.
 * `const v = new DigestVerifier("sha256:…", 123); v.update(chunk); v.check("layer 2")`.
 * `hasher` makes the hash (default node:crypto's; the runtime may have a faster one,
 * lib/runtime/runtime.ts `nativeHasher`).
 */
export class DigestVerifier {
  readonly expected: ParsedDigest;
  readonly expectedSize: number | undefined;
  size = 0;
  #hash: Hash | Hasher;

  constructor(digest: string, expectedSize?: number, hasher?: (algorithm: Algorithm) => Hasher) {
    this.expected = parseDigest(digest);
    this.expectedSize = expectedSize;
    this.#hash = hasher ? hasher(this.expected.algorithm) : createHash(this.expected.algorithm);
  }

  update(chunk: Uint8Array): void {
    this.size += chunk.byteLength;
    this.#hash.update(chunk);
  }

  /** The digest of everything seen so far (call once). */
  actual(): string {
    return `${this.expected.algorithm}:${this.#hash.digest("hex")}`;
  }

  /** Throws an Error naming `what` if size or digest differ from the descriptor. */
  check(what: string): void {
    if (this.expectedSize !== undefined && this.size !== this.expectedSize) {
      throw new Error(
        `${what} ${this.expected.digest}: size ${this.size} does not match descriptor size ${this.expectedSize}`,
      );
    }
    const got = this.actual();
    if (got !== this.expected.digest) {
      throw new Error(`${what} ${this.expected.digest}: content digest is ${got}`);
    }
  }
}
