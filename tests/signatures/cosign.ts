/**
 * @module
 * cosign for the signature tests: the binary scripts/install-cosign unpacks from Debian
 * trixie (`.tools/cosign/usr/bin/cosign`), else `COSIGN_BIN`, else `cosign` on PATH. Every
 * run gets a private HOME (no ~/.docker or ~/.sigstore of the machine's user is read or
 * written), an empty key password and no transparency log: keys are made by the test.
 */
import { run, type RunResult } from "../helpers/process.ts";

/** The cosign binary, or null when there is none (the tests then skip, loudly). */
export function cosignPath(): string | null {
  const candidates = [
    Deno.env.get("COSIGN_BIN"),
    new URL("../../.tools/cosign/usr/bin/cosign", import.meta.url).pathname,
    ...(Deno.env.get("PATH") ?? "").split(":").map((d) => `${d}/cosign`),
  ];
  for (const c of candidates) {
    if (!c) continue;
    try {
      if (Deno.statSync(c).isFile) return c;
    } catch { /* next */ }
  }
  return null;
}

/** A cosign bound to a working directory (its HOME) holding `cosign.key`/`cosign.pub`. */
export interface Cosign {
  readonly dir: string;
  readonly pub: string;
  /** Runs cosign; `experimental` sets COSIGN_EXPERIMENTAL=1 (OCI 1.1 referrers mode). */
  run(args: string[], experimental?: boolean): Promise<RunResult>;
  /** Like run, throwing with the command and its output unless it exits 0. */
  ok(args: string[], experimental?: boolean): Promise<RunResult>;
}

/** Makes a key pair in `dir` (`cosign generate-key-pair`, empty password). */
export async function makeCosign(bin: string, dir: string): Promise<Cosign> {
  const env = (experimental: boolean): Record<string, string> => ({
    HOME: dir,
    COSIGN_PASSWORD: "",
    COSIGN_YES: "true",
    ...(experimental ? { COSIGN_EXPERIMENTAL: "1" } : {}),
  });
  const c: Cosign = {
    dir,
    pub: `${dir}/cosign.pub`,
    run: (args, experimental = false) =>
      run(bin, args, { env: env(experimental), cwd: dir, timeoutMs: 60_000 }),
    async ok(args, experimental = false) {
      const r = await c.run(args, experimental);
      if (r.code !== 0) {
        throw new Error(`cosign ${args.join(" ")} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
      }
      return r;
    },
  };
  await c.ok(["generate-key-pair"]);
  return c;
}
