/**
 * @module
 * Machine and tool facts written next to the results, so a run can be compared with
 * another: CPU, cores, memory, kernel, and the versions of everything measured.
 */
import { nginxVersion } from "./nginx.ts";
import { distributionVersion } from "./distribution.ts";

async function out(cmd: string, args: string[]): Promise<string> {
  try {
    const r = await new Deno.Command(cmd, { args, stdin: "null" }).output();
    const dec = new TextDecoder();
    return (dec.decode(r.stdout) + dec.decode(r.stderr)).trim().split("\n")[0];
  } catch (e) {
    return `unavailable (${(e as Error).message})`;
  }
}

/** `name: value` lines describing this machine and the tools. */
export async function machineFacts(root: string, bin: string): Promise<[string, string][]> {
  const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/^model name\s*:\s*(.+)$/m)?.[1];
  const mem = (await Deno.readTextFile("/proc/meminfo")).match(/^MemTotal:\s+(\d+) kB/m)?.[1];
  // scripts/bench passes the line scripts/build printed ("build: bun build --compile -> …").
  const build = Deno.env.get("BENCH_BUILD_LINE") ?? "build not recorded";
  return [
    ["cpu", `${cpu ?? "?"} (nproc ${await out("nproc", [])})`],
    ["memory", `${Math.round(Number(mem) / 1024 / 1024)} GiB`],
    ["kernel", await out("uname", ["-sr"])],
    ["os", (await Deno.readTextFile("/etc/debian_version").catch(() => "?")).trim()],
    ["static-registry", `${await out(bin, ["--version"])} (${build})`],
    ["commit", await out("git", ["-C", root, "rev-parse", "--short", "HEAD"])],
    ["bun", await out("bun", ["--version"])],
    ["deno (harness)", Deno.version.deno],
    ["nginx", await nginxVersion()],
    ["distribution", await distributionVersion()],
    ["wrk", await out("wrk", ["-v"])],
    ["node (s3rver)", await out("node", ["--version"])],
  ];
}
