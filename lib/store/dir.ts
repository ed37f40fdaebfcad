/**
 * @module
 * The directory store: the static layout as plain files under a root directory.
 * Writes are atomic (temp file in `<root>/.tmp` on the same filesystem, fsync, rename),
 * so a reader or a killed writer never sees half an object.
 */
import * as fs from "node:fs/promises";
import { hostname } from "node:os";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { fileBody } from "../runtime/runtime.ts";
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
   * An exclusive lock file `<root>/.locks/<name>.lock` holding `host pid`. A lock left
   * by a process that died on this host (SIGKILL) is taken over; otherwise we wait.
   *
   * The lock file appears with its holder already in it: written to a temp file, then
   * hard-linked into place (link fails with EEXIST when held). An O_EXCL create followed
   * by a write leaves an EMPTY lock file when the publisher is killed in between, and an
   * empty file names no holder whose death could be noticed.
   */
  async lock(name: string, opts: LockOptions = {}): Promise<() => Promise<void>> {
    const dir = path.join(this.root, LOCK_DIR);
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, `${name.replaceAll("/", "%2F")}.lock`);
    const tmp = path.join(dir, `.${randomUUID()}.tmp`);
    await fs.writeFile(tmp, `${hostname()} ${process.pid}`);
    try {
      const deadline = Date.now() + this.#lockTimeoutMs;
      for (let wait = 10;; wait = Math.min(wait * 2, 500)) {
        opts.signal?.throwIfAborted();
        try {
          await fs.link(tmp, file);
          return async () => {
            await fs.rm(file, { force: true });
          };
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        }
        if (await isStale(file)) {
          await fs.rm(file, { force: true });
          continue;
        }
        if (Date.now() > deadline) {
          const holder = await fs.readFile(file, "utf8").catch(() => "?");
          throw new Error(`store ${this.root}: lock "${name}" is held by ${holder}`);
        }
        await sleep(wait, undefined, { signal: opts.signal }).catch((e) => {
          throw opts.signal?.aborted ? opts.signal.reason : e;
        });
      }
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }
}

async function isStale(file: string): Promise<boolean> {
  const holder = await fs.readFile(file, "utf8").catch(() => "");
  const [host, pid] = holder.split(" ");
  if (host !== hostname() || !pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}

function isNotFound(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
