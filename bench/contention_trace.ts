/**
 * @module
 * A traced publisher for the contention timeline (bench/contention_timeline.ts): runs the
 * publish CLI entry point in this process with every S3Store operation and every lock
 * wrapped, writing one JSON line per event to stderr (`{t, op, key, ms}`, `t` in ms since
 * the epoch, taken at the END of the operation). Run with bun, like the compiled binary. The store's own code is not changed: the
 * prototype methods are wrapped before main() runs.
 */
import process from "node:process";
import { main } from "../lib/cli/main.ts";
import { S3Store } from "../lib/store/s3.ts";

const now = () => performance.timeOrigin + performance.now();
const emit = (ev: Record<string, unknown>) => console.error(JSON.stringify({ t: now(), ...ev }));
// deno-lint-ignore no-explicit-any
const proto = S3Store.prototype as any;
for (const op of ["read", "stat", "write", "delete", "remove"]) {
  const orig = proto[op];
  proto[op] = async function (this: unknown, key: string, ...rest: unknown[]) {
    const t0 = now();
    try {
      return await orig.call(this, key, ...rest);
    } finally {
      emit({ op, key, ms: Math.round(now() - t0) });
    }
  };
}
const list = proto.list;
proto.list = async function* (this: unknown, prefix: string) {
  const t0 = now();
  let n = 0;
  for await (const o of list.call(this, prefix)) {
    n++;
    yield o;
  }
  emit({ op: "list", key: prefix, n, ms: Math.round(now() - t0) });
};
const lock = proto.lock;
proto.lock = async function (this: unknown, name: string, opts?: unknown) {
  const t0 = now();
  emit({ op: "lock-wait", key: name });
  let release: () => Promise<void>;
  try {
    release = await lock.call(this, name, opts);
  } catch (e) {
    emit({ op: "lock-abandon", key: name, ms: Math.round(now() - t0) });
    throw e;
  }
  emit({ op: "lock-held", key: name, ms: Math.round(now() - t0) });
  return async () => {
    try {
      await release();
    } finally {
      emit({ op: "lock-released", key: name });
    }
  };
};
emit({ op: "start" });
const code = await main(["publish", ...process.argv.slice(2)]);
emit({ op: "exit", code });
process.exit(code);
