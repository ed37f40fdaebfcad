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

const USER_AGENT = `static-registry/${BASE_VERSION}`;

/**
 * The `User-Agent` of every request this program sends (origin health checks and blob
 * verification, the HTTP store, the `docker://` source, S3): a product token, RFC 9110
 * §10.1.5, so an origin's or a registry's access log tells our requests from a client's.
 * The release only, not the build: the same for every build of one release.
 */
export function userAgent(): string {
  return USER_AGENT;
}
