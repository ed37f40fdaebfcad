/**
 * @module
 * The directory store: the static layout as plain files under a root directory.
 * Writes are atomic (temp file in `<root>/.tmp` on the same filesystem, fsync, rename),
 * so a reader or a killed writer never sees half an object.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { fileBody } from "../runtime/runtime.ts";
import { acquireDirLock } from "./dir_lock.ts";
import type {
  ByteRange,
  LockOptions,
  ObjectMeta,
  ReadResult,
  StreamStore,
  WriteMeta,
  WriteStore,
} from "./store.ts";

const TMP_DIR = ".tmp";
const LOCK_DIR = ".locks";

/** Rejects keys that could leave the root: absolute, `..`, `.`, empty segments, NUL, `\`. */
export function checkKey(key: string): string {
  if (
    key.length === 0 || key.startsWith("/") || key.includes("\\") || key.includes("\0") ||
    key.split("/").some((seg) => seg === "" || seg === "." || seg === "..")
  ) {
    throw new Error(`invalid store key ${JSON.stringify(key)}`);
  }
  return key;
}

export interface DirStoreOptions {
  /** How long lock() waits for another publisher before giving up (ms). */
  lockTimeoutMs?: number;
}

export class DirStore implements StreamStore, WriteStore {
  readonly location: string;
  readonly root: string;
  readonly #lockTimeoutMs: number;

  constructor(root: string, opts: DirStoreOptions = {}) {
    this.root = path.resolve(root);
    this.location = this.root;
    this.#lockTimeoutMs = opts.lockTimeoutMs ?? 60_000;
  }

  /** Absolute path of a key (validated to stay under the root). */
  pathOf(key: string): string {
    return path.join(this.root, ...checkKey(key).split("/"));
  }

  async stat(key: string): Promise<ObjectMeta | null> {
    try {
      const st = await fs.stat(this.pathOf(key));
      if (!st.isFile()) return null;
      // Every write renames a new file into place, so the inode changes with the content.
      const etag = `"${st.ino.toString(16)}-${st.size.toString(16)}-${Math.floor(st.mtimeMs)}"`;
      return { size: st.size, etag };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async read(key: string, opts: { etag?: string } = {}): Promise<ReadResult> {
    const meta = await this.stat(key);
    if (!meta) return { status: "missing" };
    if (opts.etag && opts.etag === meta.etag) return { status: "not-modified" };
    try {
      const bytes = new Uint8Array(await fs.readFile(this.pathOf(key)));
      return { status: "ok", bytes, meta: { ...meta, size: bytes.byteLength } };
    } catch (e) {
      if (isNotFound(e)) return { status: "missing" };
      throw e;
    }
  }

  async open(
    key: string,
    range?: ByteRange,
  ): Promise<{ body: ReadableStream<Uint8Array> | Blob; size: number } | null> {
    const meta = await this.stat(key);
    if (!meta) return null;
    return { body: fileBody(this.pathOf(key), range), size: meta.size };
  }

  async write(
    key: string,
    body: Uint8Array | ReadableStream<Uint8Array>,
    _meta: WriteMeta,
  ): Promise<void> {
    const dest = this.pathOf(key);
    const tmpDir = path.join(this.root, TMP_DIR);
    await fs.mkdir(tmpDir, { recursive: true });
    await fs.mkdir(path.dirname(dest), { recursive: true });
    const tmp = path.join(tmpDir, `${randomUUID()}.part`);
    const fh = await fs.open(tmp, "wx", 0o644);
    try {
      if (body instanceof Uint8Array) {
        await fh.write(body);
      } else {
        for await (const chunk of body) await fh.write(chunk);
      }
      await fh.sync();
      await fh.close();
      await fs.rename(tmp, dest);
    } catch (e) {
      await fh.close().catch(() => {});
      await fs.rm(tmp, { force: true });
      throw e;
    }
  }

  /** A lock file is taken in one syscall: nothing to start early. */
  readonly lockLeadMs: number = 0;

  /**
   * An exclusive lock file `<root>/.locks/<name>.lock`; a lock left by a process that
   * died on this host (SIGKILL) is taken over by exactly one waiter, otherwise we wait
   * (dir_lock.ts).
   */
  lock(name: string, opts: LockOptions = {}): Promise<() => Promise<void>> {
    return acquireDirLock(path.join(this.root, LOCK_DIR), name, {
      timeoutMs: this.#lockTimeoutMs,
      signal: opts.signal,
      location: this.root,
    });
  }
}

function isNotFound(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
