/**
 * @module
 * `static-registry publish <source> <repo>[:<tag>] --to <store>` (work in progress: the
 * publisher in lib/publish/ is being written; this entry point exists so lib/cli/main.ts
 * can import it).
 */
import { UsageError } from "../oci/errors.ts";

/** Runs `publish` with the arguments after the word `publish`; resolves to the exit code. */
export function publishCommand(argv: string[]): Promise<number> {
  return Promise.reject(new UsageError(`publish is not implemented yet (${argv.join(" ")})`));
}
