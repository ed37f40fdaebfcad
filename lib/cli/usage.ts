/**
 * @module
 * {@link UsageError}: what the person at the command line got wrong — an argument, a flag,
 * a source or destination they named. `report()` (report.ts) prints it and exits 2.
 * Library code that checks what a user typed (a source spec, a repository name) throws it
 * too; this file imports nothing, so any module may.
 */

/** A usage error on the command line: exit status 2 (recognised by `exitCode`). */
export class UsageError extends Error {
  override name = "UsageError";
  readonly exitCode = 2;
}
