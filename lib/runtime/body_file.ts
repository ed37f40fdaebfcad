/**
 * @module
 * A response body written to a file by the runtime itself, where it can: on Bun,
 * `Bun.write(file, response)` moves the bytes from its HTTP thread to the file without a
 * JavaScript call per chunk. Measured on `publish docker://` of a 100 MB image (issue 13;
 * bench/publish_docker_ab.ts, 6 blobs in flight): 1.9 s of CPU for fetch's reader loop
 * plus writev, 0.4 s for Bun.write, hashing the file afterwards another 0.08 s. Part of
 * the runtime seam (runtime.ts): the only other file that touches `Bun.*`.
 */
import { closeSync, openSync } from "node:fs";

// deno-lint-ignore no-explicit-any
const bun = (globalThis as any).Bun;

/**
 * Writes `res`'s body at the end of file `path` (`append`) or over it, natively; rejects
 * when the body fails (a drop, an abort of the request's signal). Undefined where the
 * runtime has no such write (Deno): the caller streams the body itself.
 */
export const nativeBodyToFile:
  | ((res: Response, path: string, append: boolean) => Promise<void>)
  | undefined = bun
    ? async (res, path, append) => {
      const fd = openSync(path, append ? "a" : "w");
      try {
        await bun.write(bun.file(fd), res);
      } finally {
        closeSync(fd);
      }
    }
    : undefined;
