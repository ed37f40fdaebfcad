/**
 * @module
 * The command line: picks the subcommand and reports what it throws, in one place
 * (report.ts: the message and its causes, exit 2 for usage and config errors, 1 for any
 * other failure). Each subcommand is a thin file of its own that parses its flags with
 * flags.ts and throws; they are imported lazily so `serve` does not load the publisher.
 */
import process from "node:process";
import { VERSION_TEXT } from "../version.ts";
import { MAIN_HELP } from "./help.ts";
import { report } from "./report.ts";
import { UsageError } from "./usage.ts";

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import("./serve.ts")).serveCommand,
  publish: async () => (await import("./publish.ts")).publishCommand,
  check: async () => (await import("./check.ts")).checkCommand,
  export: async () => (await import("./bundle.ts")).exportCommand,
  import: async () => (await import("./bundle.ts")).importCommand,
  hosts: async () => (await import("./hosts.ts")).hostsCommand,
  delete: async () => (await import("./delete.ts")).deleteCommand,
  sync: async () => (await import("./sync.ts")).syncCommand,
  gc: async () => (await import("./gc.ts")).gcCommand,
  migrate: async () => (await import("./migrate.ts")).migrateCommand,
};

/**
 * Runs the CLI with the arguments after the program name; resolves to the exit status.
 * `STATIC_REGISTRY_DEBUG=1` in `env` adds stack traces to error reports.
 *
 * @example
 * ```ts
 * await main(["--version"]); // prints "static-registry 0.1.0 (dev)", returns 0
 * ```
 */
export async function main(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  let command: string | undefined;
  try {
    const [first, ...rest] = argv;
    if (first === "--version" || first === "-V") {
      console.log(VERSION_TEXT);
      return 0;
    }
    if (first === "--help" || first === "-h" || first === "help") {
      if (first === "help" && rest[0] && Object.hasOwn(COMMANDS, rest[0])) {
        return await (await COMMANDS[rest[0]]())(["--help"]);
      }
      console.log(MAIN_HELP);
      return 0;
    }
    // `static-registry --config cfg.json` is `serve`: it is the default command.
    if (first === undefined || first.startsWith("-")) {
      command = "serve";
      return await (await COMMANDS.serve())(argv);
    }
    const load = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
    if (!load) throw new UsageError(`unknown command ${JSON.stringify(first)}`);
    command = first;
    return await (await load())(rest);
  } catch (e) {
    return report(e, { command, debug: Boolean(env.STATIC_REGISTRY_DEBUG) });
  }
}
