/**
 * @module
 * `scripts/bench --profile`: where a request's CPU time goes. Runs the server FROM SOURCE
 * on Bun with `--cpu-prof --cpu-prof-md` (the compiled binary runs the same JavaScriptCore
 * code, bundled), loads one route with wrk, stops it by PID so Bun writes the profile, and
 * prints the profile's top functions. Profiles (.cpuprofile for Chrome/VS Code, .md to read)
 * go to `.work/bench-profile/`.
 */
import { makeOciLayout } from "../tests/helpers/image.ts";
import { startNginx } from "./nginx.ts";
import { freePort, runOk, start, waitFor } from "./proc.ts";
import { ACCEPT } from "./serve_rows.ts";
import { type LoadSettings, loadTest } from "./wrk.ts";

/** Profiles the blob 307 and the manifest GET; returns the summary lines printed. */
export async function profileRoutes(
  root: string,
  bin: string,
  workDir: string,
  load: LoadSettings,
) {
  const layout = `${workDir}/profile-image`;
  const store = `${workDir}/profile-store`;
  const image = await makeOciLayout(layout, {
    tag: "latest",
    layers: 2,
    layerSize: 1 << 20,
    seed: "bench",
  });
  await runOk(bin, ["publish", `oci:${layout}:latest`, "bench/app:latest", "--to", store]);
  const nginx = await startNginx(
    {
      storeDir: store,
      repo: "bench/app",
      tag: "latest",
      manifestDigest: image.rootDigest,
      manifestMediaType: image.rootMediaType,
      tagsJson: "{}",
    },
    1,
    workDir,
  );
  const outDir = `${root}/.work/bench-profile`;
  await Deno.mkdir(outDir, { recursive: true });
  const lines: string[] = [];
  try {
    const routes: [string, string][] = [
      ["blob-307", `/v2/bench/app/blobs/${image.manifests[0].layers[0].digest}`],
      ["manifest", "/v2/bench/app/manifests/latest"],
    ];
    for (const [name, path] of routes) {
      const port = freePort();
      const cfg = `${workDir}/profile-${name}.json`;
      await Deno.writeTextFile(
        cfg,
        JSON.stringify({
          listen: `127.0.0.1:${port}`,
          store,
          origins: [{ name: "nginx", url: nginx.origin }],
          health: { interval: "2s", timeout: "1s", rise: 1 },
        }),
      );
      const args = [
        "--cpu-prof",
        "--cpu-prof-md",
        `--cpu-prof-dir=${outDir}`,
        `--cpu-prof-name=${name}.cpuprofile`,
        `${root}/main.ts`,
        "serve",
        "--config",
        cfg,
      ];
      const proc = start(`bun ${name}`, "bun", args, `${workDir}/profile-${name}.log`);
      const url = `http://127.0.0.1:${port}`;
      try {
        await waitFor(proc, `${url}/readyz`, { timeoutMs: 30_000, everyMs: 50 });
        const res = await loadTest(url + path, load, [ACCEPT]);
        lines.push(`${name}: ${res.requestsPerSec.toFixed(0)} req/s under the profiler`);
      } finally {
        await proc.stop(15_000);
      }
      const md = await Deno.readTextFile(`${outDir}/${name}.cpuprofile.md`).catch(() => "");
      const top = md.split("\n").find((l) => l.startsWith("**Top 10:**"));
      lines.push(
        `  ${top ?? "(no profile written)"}`,
        `  full profile: ${outDir}/${name}.cpuprofile.md`,
      );
    }
  } finally {
    await nginx.stop();
  }
  return lines;
}
