/**
 * static-registry: a pull-only OCI registry over object storage and CDNs.
 * The CLI lives in lib/cli/; this file only hands it the arguments.
 */
import { main } from "./lib/cli/main.ts";
import { args, exit } from "./lib/runtime/runtime.ts";

exit(await main(args()));
