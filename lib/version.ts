/**
 * @module
 * The program's version. `scripts/build` stamps the git description into the binary with
 * `bun build --define STATIC_REGISTRY_BUILD='"v0.1.0-3-gabc123"'`; without a stamp (plain
 * `deno run`/`deno test`, or a `deno compile` build, which has no --define) it reads
 * "dev". No generated file is needed.
 */

// Replaced by the bundler's --define; `typeof` keeps an undeclared global from throwing.
declare const STATIC_REGISTRY_BUILD: string | undefined;

/** The release this source tree is. */
export const BASE_VERSION = "0.1.0";

/** The git description stamped at build time, or "dev". */
export const BUILD: string = typeof STATIC_REGISTRY_BUILD === "string"
  ? STATIC_REGISTRY_BUILD
  : "dev";

/** What `static-registry --version` prints. */
export const VERSION_TEXT = `static-registry ${BASE_VERSION} (${BUILD})`;
