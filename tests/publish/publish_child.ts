/**
 * @module
 * A child process for the crash-safety test: runs the publish CLI entry point with its
 * arguments (`<source> <repo>[:<tag>] --to <dir>`) and exits with its status, so the test
 * can SIGKILL a real publish at any moment. Writes "ready" to stderr once its modules are
 * loaded, so the test can time its kill from the start of the publish itself.
 */
import { publishCommand } from "../../lib/cli/publish.ts";

console.error("ready");
Deno.exit(await publishCommand(Deno.args));
