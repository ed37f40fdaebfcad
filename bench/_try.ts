import { refreshRows } from "./refresh_rows.ts";
import { notes, textTable } from "./table.ts";
const [h, s, n] = Deno.args;
const workDir = await Deno.makeTempDir({ prefix: "sr-rr-" });
const t0 = performance.now();
try {
  const rows = await refreshRows({
    root: "/work/wt-refresh",
    bin: "/work/wt-refresh/dist/static-registry",
    workDir,
    counts: {
      http: h ? h.split(",").map(Number) : [],
      s: 0,
      s3: s ? s.split(",").map(Number) : [],
    } as any,
    samples: Number(n ?? 2),
  });
  console.log(textTable(rows));
  console.log(notes(rows).join("\n"));
} finally {
  if (!Deno.env.get("KEEP")) await Deno.remove(workDir, { recursive: true });
  else console.log(workDir);
}
console.log(((performance.now() - t0) / 1000).toFixed(1), "s");
