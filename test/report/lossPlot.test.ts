import assert from "node:assert/strict";
import { test } from "node:test";
import { lossPlotSvg, niceTicks, shortNumber } from "../../src/report/lossPlot.js";
import { svgToPng } from "../../src/report/svgToPng.js";

test("ticks are round numbers covering the range", () => {
  assert.deepEqual(niceTicks(0, 1000, 5), [0, 200, 400, 600, 800, 1000]);
  assert.deepEqual(niceTicks(3.12, 3.9, 4), [3.2, 3.4, 3.6, 3.8]);
  assert.equal(shortNumber(1_200), "1.2k");
  assert.equal(shortNumber(3_500_000), "3.5M");
});

test("the chart draws each series in data coordinates, escapes labels, and renders to PNG", () => {
  const svg = lossPlotSvg(
    [
      {
        label: "base <control>",
        dashed: true,
        points: [
          { x: 0, y: 4 },
          { x: 100, y: 3.5 },
        ],
      },
      {
        label: "DUS & heal",
        points: [
          { x: 0, y: 5 },
          { x: 50, y: 4 },
          { x: 100, y: 3 },
        ],
      },
    ],
    { title: "t", xLabel: "tokens", yLabel: "loss", reference: { y: 4, label: "base at 0" } },
  );
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.ok(svg.includes("base &lt;control&gt;") && svg.includes("DUS &amp; heal"));
  const lines = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1]!.split(" "));
  assert.equal(lines.length, 2);
  assert.equal(lines[1]!.length, 3);
  // Lower loss is drawn lower down (SVG y grows downwards); later tokens further right.
  const pts = lines[1]!.map((p) => p.split(",").map(Number) as [number, number]);
  assert.ok(pts[0]![0] < pts[1]![0] && pts[1]![0] < pts[2]![0]);
  assert.ok(pts[0]![1] < pts[1]![1] && pts[1]![1] < pts[2]![1]);
  // Labels sit in the legend, right of the plot area, where no curve runs through them.
  const plotRight = Number(
    /<rect x="(\d+)" y="\d+" width="(\d+)"/
      .exec(svg)!
      .slice(1)
      .reduce((a, b) => String(Number(a) + Number(b))),
  );
  for (const label of ["base &lt;control&gt;", "DUS &amp; heal", "base at 0"]) {
    const x = Number(new RegExp(`<text x="([\\d.]+)"[^>]*>${label}<`).exec(svg)![1]);
    assert.ok(x > plotRight, `${label} at x ${x}, plot ends at ${plotRight}`);
  }
  const png = svgToPng(svg, 1);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
});
