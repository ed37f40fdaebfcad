/**
 * @module
 * A child process for the crash-safety and lock tests: runs the publish CLI entry point
 * with its arguments (`<source> <repo>[:<tag>] --to <dir>`) and exits with its status, so
 * the test can SIGKILL a real publish at any moment. Writes "ready" to stderr once its
 * modules are loaded, so the test can time its kill from the start of the publish itself.
 *
 * With `PUBLISH_START_FILE` in the environment it waits until that file exists before
 * publishing, so many children started one after another publish at the same moment.
 */
import { main } from "../../lib/cli/main.ts";

console.error("ready");
const startFile = Deno.env.get("PUBLISH_START_FILE");
while (startFile && !(await Deno.stat(startFile).then(() => true, () => false))) {
  await new Promise((r) => setTimeout(r, 5));
}
Deno.exit(await main(["publish", ...Deno.args]));
