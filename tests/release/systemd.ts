/**
 * @module
 * `systemd-analyze verify` of a unit file as it would be installed. verify refuses a unit
 * whose ExecStart does not exist, so the unit is checked as a copy whose binary path points
 * at `bin` (an executable that exists); nothing else is changed. verify exits 0 on mere
 * warnings (an unknown key, an unparsable value: "ignoring"), so any output is a failure.
 */
import { run } from "../helpers/process.ts";

export const UNIT_BIN = "/usr/local/bin/static-registry";

/** verify's exit status and output for `unitText` with ExecStart's binary at `bin`. */
export async function verifyUnit(
  unitText: string,
  bin: string,
): Promise<{ code: number; output: string }> {
  const dir = await Deno.makeTempDir({ prefix: "sr-unit-" });
  try {
    const file = `${dir}/static-registry.service`;
    await Deno.writeTextFile(file, unitText.replaceAll(UNIT_BIN, bin));
    const r = await run("systemd-analyze", ["verify", file], { timeoutMs: 30_000 });
    return { code: r.code, output: (r.stdout + r.stderr).trim() };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
