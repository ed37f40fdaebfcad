/**
 * @module
 * A child process for the crash-safety test: runs the publish CLI entry point with its
 * arguments (`<source> <repo>[:<tag>] --to <dir>`) and exits with its status, so the test
 * can SIGKILL a real publish at any moment.
 */
import { publishCommand } from "../../lib/cli/publish.ts";

Deno.exit(await publishCommand(Deno.args));
