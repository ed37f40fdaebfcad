/**
 * @module
 * `report(err)`: the one place the CLI prints an error, and the exit status it means.
 * The message comes first, then each `cause` the message does not already quote (errors
 * keep their cause, Deno std style), no stack traces unless debugging:
 *
 * ```text
 * static-registry: config "cfg.json": cannot read "creds.json"
 *   caused by: permission denied
 * Run "static-registry serve --help" for usage.
 * ```
 *
 * The status is recognised structurally, so any module's error can carry one without
 * importing the CLI: a numeric `exitCode` (UsageError and the config's errors: 2) is
 * used as is, anything else is 1. Usage errors (2) end with the pointer to `--help`.
 */
import { redact } from "../oci/redact.ts";

/** Causes followed before stopping (a cycle, or an absurd chain). */
const MAX_CAUSES = 8;

export interface ReportOptions {
  /** The subcommand, for the `--help` pointer (`static-registry publish --help`). */
  command?: string;
  /** Print stack traces too (STATIC_REGISTRY_DEBUG=1). */
  debug?: boolean;
  /** Where lines go (console.error). */
  write?: (line: string) => void;
}

/** The exit status `err` means: its numeric `exitCode`, else 1. */
export function exitStatus(err: unknown): number {
  const code = (err as { exitCode?: unknown } | null)?.exitCode;
  return typeof code === "number" ? code : 1;
}

/**
 * Prints `err` (see the module doc) and returns its exit status.
 *
 * @example
 * ```ts
 * const status = report(new Error("publish failed", { cause: new Error("disk full") }));
 * // static-registry: publish failed
 * //   caused by: disk full
 * // status === 1
 * ```
 */
export function report(err: unknown, opts: ReportOptions = {}): number {
  const write = opts.write ?? ((line: string) => console.error(line));
  const status = exitStatus(err);
  const chain = causes(err);
  write(`static-registry: ${messageOf(chain[0])}`);
  for (let i = 1; i < chain.length; i++) {
    const m = messageOf(chain[i]);
    if (!messageOf(chain[i - 1]).includes(m)) write(`  caused by: ${m}`);
  }
  if (opts.debug) {
    for (const e of chain) if (e instanceof Error && e.stack) write(redact(e.stack));
  }
  if (status === 2) {
    const cmd = opts.command ? `static-registry ${opts.command}` : "static-registry";
    write(`Run "${cmd} --help" for usage.`);
  }
  return status;
}

/** `err` and its causes, outermost first, each once. */
function causes(err: unknown): unknown[] {
  const chain = [err];
  for (let e = err; chain.length <= MAX_CAUSES;) {
    e = (e as { cause?: unknown } | null)?.cause;
    if (e === undefined || e === null || chain.includes(e)) break;
    chain.push(e);
  }
  return chain;
}

/** The message, with credentials in any URL or header it quotes replaced (lib/oci/redact.ts). */
function messageOf(e: unknown): string {
  return redact(e instanceof Error ? e.message : String(e));
}
