/**
 * @module
 * A child process for the crash-safety test: runs the publish CLI entry point with its
 * arguments (`<source> <repo>[:<tag>] --to <dir>`) and exits with its status, so the test
 * can SIGKILL a real publish at any moment. Writes "ready" to stderr once its modules are
 * loaded, so the test can time its kill from the start of the publish itself.
 */
import { main } from "../../lib/cli/main.ts";

console.error("ready");
Deno.exit(await main(["publish", ...Deno.args]));
