/** withLabels() and mergeExposition(): Prometheus text documents of several sources. */
import assert from "node:assert/strict";
import { labelValue, mergeExposition, withLabels } from "../../lib/server/prom.ts";

Deno.test("withLabels() adds a label to samples with and without labels", () => {
  assert.equal(withLabels('m{a="1"} 2', 'mount="x"'), 'm{mount="x",a="1"} 2');
  assert.equal(withLabels("m 2", 'mount="x"'), 'm{mount="x"} 2');
  assert.equal(withLabels("m{} 2", 'mount="x"'), 'm{mount="x"} 2');
  assert.equal(labelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
});

Deno.test("mergeExposition() describes each family once and keeps its samples together", () => {
  const doc = (n: number) =>
    `# HELP up Up.\n# TYPE up gauge\nup{origin="o${n}"} 1\n# TYPE hits counter\nhits ${n}\n`;
  assert.equal(
    mergeExposition([{ labels: 'mount=""', text: doc(1) }, { labels: 'mount="b"', text: doc(2) }]),
    [
      "# HELP up Up.",
      "# TYPE up gauge",
      'up{mount="",origin="o1"} 1',
      'up{mount="b",origin="o2"} 1',
      "# TYPE hits counter",
      'hits{mount=""} 1',
      'hits{mount="b"} 2',
      "",
    ].join("\n"),
  );
});
