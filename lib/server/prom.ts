/**
 * @module
 * Merging Prometheus text-format (0.0.4) documents that use the same metric families:
 * each source's samples get extra labels (`mount="team-a"`) and are grouped under one
 * `# HELP`/`# TYPE` per family, as the format requires (a family's lines are contiguous
 * and described once). Used by `/metrics` for the origins of several mounts; runs only
 * when scraped.
 */

/** Adds `labels` (already rendered, e.g. `mount="a"`) to one sample line. */
export function withLabels(sample: string, labels: string): string {
  const brace = sample.indexOf("{");
  const space = sample.indexOf(" ");
  if (brace >= 0 && (space < 0 || brace < space)) {
    const close = brace + 1;
    return sample.slice(0, close) + labels + (sample[close] === "}" ? "" : ",") +
      sample.slice(close);
  }
  return `${sample.slice(0, space)}{${labels}}${sample.slice(space)}`;
}

/** A label value escaped for the text format (backslash, quote, newline). */
export function labelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

/**
 * Merges documents into one, family by family in first-seen order. A sample belongs to
 * the family of the `# HELP`/`# TYPE` line before it (so `_total`, `_bucket` … stay with
 * their family); its source's `labels` are added to it.
 */
export function mergeExposition(parts: { labels: string; text: string }[]): string {
  const families = new Map<string, { meta: string[]; samples: string[] }>();
  for (const { labels, text } of parts) {
    let current: { meta: string[]; samples: string[] } | undefined;
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta) {
        current = families.get(meta[2]);
        if (!current) families.set(meta[2], current = { meta: [], samples: [] });
        if (!current.meta.some((l) => l.startsWith(`# ${meta[1]} `))) current.meta.push(line);
      } else if (!line.startsWith("#")) {
        const name = /^[^{\s]+/.exec(line)![0];
        if (!current) {
          current = families.get(name);
          if (!current) families.set(name, current = { meta: [], samples: [] });
        }
        current.samples.push(withLabels(line, labels));
      }
    }
  }
  let out = "";
  for (const f of families.values()) {
    for (const l of f.meta) out += l + "\n";
    for (const l of f.samples) out += l + "\n";
  }
  return out;
}
