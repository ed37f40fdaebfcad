/**
 * @module
 * Ctrl-C and `kill` during a publish (issue 9, defect 13). {@link onInterrupt} turns the
 * first SIGINT or SIGTERM into an abort of the publish's AbortSignal: blob copies in
 * flight are cancelled through their streams (the directory store removes its temp file,
 * the S3 store aborts its multipart upload), nothing new starts, and publish() rejects
 * with {@link Interrupted}, which says what was left consistent and carries the exit
 * status a shell expects of a process ended by that signal (128 + 2 = 130, 128 + 15 =
 * 143). A second signal exits at once: the user insists, and the next publish removes
 * whatever temp files that leaves (DirStore.removeStaleTemp).
 */
import { exit, listenSignal } from "../runtime/runtime.ts";

export type InterruptSignal = "SIGINT" | "SIGTERM";
const EXIT_CODE: Record<InterruptSignal, number> = { SIGINT: 130, SIGTERM: 143 };

/** The publish was interrupted by a signal; the message says what the store holds. */
export class Interrupted extends Error {
  readonly exitCode: number;
  constructor(readonly signal: InterruptSignal, message = `interrupted by ${signal}`) {
    super(message);
    this.exitCode = EXIT_CODE[signal];
  }
}

export interface InterruptHandle {
  /** Aborted (reason: an {@link Interrupted}) on the first signal. */
  readonly signal: AbortSignal;
  /** The signal received, if any. */
  readonly received: InterruptSignal | undefined;
  /** Stops listening (the runtime's default handling is back). */
  dispose(): void;
}

/** Listens for SIGINT and SIGTERM until disposed; see the module doc. */
export function onInterrupt(): InterruptHandle {
  const ctl = new AbortController();
  let received: InterruptSignal | undefined;
  const handler = (sig: InterruptSignal) => () => {
    if (received) exit(EXIT_CODE[sig]);
    received = sig;
    ctl.abort(new Interrupted(sig));
  };
  const off = (["SIGINT", "SIGTERM"] as const).map((s) => listenSignal(s, handler(s)));
  return {
    signal: ctl.signal,
    get received() {
      return received;
    },
    dispose: () => off.forEach((f) => f()),
  };
}

/** Resolves like `p`, or rejects with the signal's reason as soon as it aborts. */
export function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
