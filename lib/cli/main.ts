/**
 * @module
 * The command line: picks the subcommand and maps errors to exit statuses (UsageError → 2
 * with the message and a pointer to --help, anything else → 1). Each subcommand is a thin
 * file of its own; they are imported lazily so `serve` does not load the publisher.
 */
import { UsageError } from "../oci/errors.ts";
import { VERSION_TEXT } from "../version.ts";
import { MAIN_HELP } from "./help.ts";

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import("./serve.ts")).serveCommand,
  publish: async () => (await import("./publish.ts")).publishCommand,
  check: async () => (await import("./check.ts")).checkCommand,
  export: async () => (await import("./bundle.ts")).exportCommand,
  import: async () => (await import("./bundle.ts")).importCommand,
};

/**
 * Runs the CLI with the arguments after the program name; resolves to the exit status.
 *
 * @example
 * ```ts
 * await main(["--version"]); // prints "static-registry 0.1.0 (dev)", returns 0
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === "--version" || first === "-V") {
      console.log(VERSION_TEXT);
      return 0;
    }
    if (first === "--help" || first === "-h" || first === "help") {
      if (first === "help" && rest[0] && rest[0] in COMMANDS) {
        return await (await COMMANDS[rest[0]]())(["--help"]);
      }
      console.log(MAIN_HELP);
      return 0;
    }
    // `static-registry --config cfg.json` is `serve`: it is the default command.
    if (first === undefined || first.startsWith("-")) {
      return await (await COMMANDS.serve())(argv);
    }
    const load = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
    if (!load) throw new UsageError(`unknown command ${JSON.stringify(first)}`);
    return await (await load())(rest);
  } catch (e) {
    return report(e);
  }
}

function report(e: unknown): number {
  // Usage and config errors (ConfigError) carry exitCode 2: recognised by shape, not class.
  if (e instanceof UsageError || (e as { exitCode?: unknown })?.exitCode === 2) {
    console.error(`static-registry: ${(e as Error).message}`);
    console.error(`Run "static-registry --help" for usage.`);
    return 2;
  }
  // parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown/malformed flags.
  const code = (e as { code?: string })?.code;
  if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) {
    // Keep the first sentence: Node's text goes on about "--" and positionals.
    console.error(`static-registry: ${(e as Error).message.split(". ")[0]}`);
    console.error(`Run "static-registry --help" for usage.`);
    return 2;
  }
  console.error(`static-registry: ${(e as Error)?.message ?? String(e)}`);
  return 1;
}
