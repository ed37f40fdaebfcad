/**
 * @module
 * The distribution baseline: Debian's `docker-registry` (CNCF distribution 2.8) with
 * filesystem storage. The image is pushed with skopeo into a registry WITHOUT middleware
 * (a push HEADs blobs, which the redirect middleware would answer with a 307), then the
 * registry is restarted on the same storage with the `redirect` storage middleware, so a
 * blob GET answers 307 to the origin and a manifest GET by tag is read from its filesystem
 * storage, as in production. Access log off and log level error: we measure serving, not
 * logging (static-registry runs with its default logging; see the table notes).
 */
import { freePort, type Proc, runOk, start, waitFor } from "./proc.ts";

export interface Distribution {
  proc: Proc;
  url: string;
  stop(): Promise<void>;
}

function config(root: string, port: number, redirectBase?: string): string {
  const mw = redirectBase
    ? `middleware:\n  storage:\n    - name: redirect\n      options:\n        baseurl: ${redirectBase}\n`
    : "";
  return `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${root}
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
${mw}`;
}

async function run(workDir: string, name: string, redirectBase?: string): Promise<Distribution> {
  const port = freePort();
  const cfg = `${workDir}/${name}.yml`;
  await Deno.writeTextFile(cfg, config(`${workDir}/storage`, port, redirectBase));
  const proc = start(name, "docker-registry", ["serve", cfg], `${workDir}/${name}.log`);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(proc, `${url}/v2/`, { timeoutMs: 15_000, everyMs: 50 });
  return { proc, url, stop: () => proc.stop() };
}

/**
 * Pushes `oci:<layout>:<tag>` as `<repo>:<tag>` into fresh storage under `workDir`, then
 * starts the redirecting registry. `redirectBase` is the origin base URL.
 */
export async function startDistribution(
  workDir: string,
  layout: string,
  tag: string,
  repo: string,
  redirectBase: string,
): Promise<Distribution> {
  await Deno.mkdir(`${workDir}/storage`, { recursive: true });
  const push = await run(workDir, "distribution-push");
  try {
    await runOk("skopeo", [
      "copy",
      "--quiet",
      "--dest-tls-verify=false",
      `oci:${layout}:${tag}`,
      `docker://${push.url.slice("http://".length)}/${repo}:${tag}`,
    ]);
  } finally {
    await push.stop();
  }
  return run(workDir, "distribution", redirectBase);
}

/** The Debian package version of docker-registry. */
export async function distributionVersion(): Promise<string> {
  const r = await runOk("dpkg-query", ["-W", "-f=${Version}", "docker-registry"]);
  return `docker-registry ${r.stdout.trim()}`;
}
