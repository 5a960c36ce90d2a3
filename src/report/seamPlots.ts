// The seam report's charts as standalone SVG (the same conventions as lossPlot.ts): a heatmap of the
// angular distance between every pair of layer boundaries, and Block Influence per layer as bars
// with their standard errors.
import { niceTicks } from "./lossPlot.js";

const escape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const f = (v: number) => v.toFixed(1);
const FONT = `font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12"`;

/** A sequential colour for t in [0, 1]: pale yellow (near) to dark blue (far), readable in grey. */
export function heatColour(t: number): string {
  const stops = [
    [255, 255, 217],
    [199, 233, 180],
    [65, 182, 196],
    [34, 94, 168],
    [8, 29, 88],
  ];
  const x = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const u = x - i;
  const c = stops[i]!.map((v, k) => Math.round(v + (stops[i + 1]![k]! - v) * u));
  return `rgb(${c.join(",")})`;
}

export interface HeatmapOptions {
  title: string;
  /** Cells to outline (the recommended seam), as [row, column]. */
  marks?: { at: [number, number]; label: string }[];
}

/** Heatmap of a square matrix of values in [0, 1] (row i, column j: boundaries i and j). */
export function heatmapSvg(matrix: readonly (readonly number[])[], opts: HeatmapOptions): string {
  const K = matrix.length;
  const cell = Math.max(8, Math.min(40, Math.floor(480 / Math.max(1, K))));
  const m = { left: 64, top: 48, right: 130, bottom: 56 };
  const side = cell * K;
  const W = Math.max(m.left + side + m.right, 12 + opts.title.length * 9);
  const H = m.top + side + m.bottom;
  const max = Math.max(1e-12, ...matrix.flat().filter(Number.isFinite));
  const every = Math.max(1, Math.ceil(K / 16));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escape(opts.title)}</text>`,
  ];
  for (let i = 0; i < K; i++)
    for (let j = 0; j < K; j++) {
      const v = matrix[i]![j]!;
      out.push(
        `<rect x="${m.left + j * cell}" y="${m.top + i * cell}" width="${cell}" height="${cell}" fill="${heatColour(v / max)}"><title>boundaries ${i}, ${j}: ${v.toFixed(4)}</title></rect>`,
      );
    }
  for (let i = 0; i < K; i += every) {
    const c = f(m.top + (i + 0.5) * cell + 4);
    out.push(
      `<text x="${m.left - 6}" y="${c}" text-anchor="end">${i}</text>`,
      `<text x="${f(m.left + (i + 0.5) * cell)}" y="${m.top + side + 16}" text-anchor="middle">${i}</text>`,
    );
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${side}" height="${side}" fill="none" stroke="#333"/>`,
    `<text x="${m.left + side / 2}" y="${H - 14}" text-anchor="middle">layer boundary j (0: embeddings, l + 1: after layer l)</text>`,
    `<text transform="translate(18 ${m.top + side / 2}) rotate(-90)" text-anchor="middle">layer boundary i</text>`,
  );
  for (const mk of opts.marks ?? []) {
    const [i, j] = mk.at;
    out.push(
      `<rect x="${m.left + j * cell}" y="${m.top + i * cell}" width="${cell}" height="${cell}" fill="none" stroke="#D55E00" stroke-width="3"><title>${escape(mk.label)}</title></rect>`,
    );
  }
  // Colour bar.
  const bx = m.left + side + 24;
  const steps = 50;
  for (let s = 0; s < steps; s++) {
    const y = m.top + (s / steps) * side;
    out.push(
      `<rect x="${bx}" y="${f(y)}" width="16" height="${f(side / steps + 0.5)}" fill="${heatColour(1 - s / steps)}"/>`,
    );
  }
  out.push(
    `<rect x="${bx}" y="${m.top}" width="16" height="${side}" fill="none" stroke="#333"/>`,
    `<text x="${bx + 22}" y="${m.top + 10}">${max.toFixed(3)}</text>`,
    `<text x="${bx + 22}" y="${m.top + side}">0</text>`,
    `<text transform="translate(${bx + 60} ${m.top + side / 2}) rotate(90)" text-anchor="middle">angular distance</text>`,
  );
  if (opts.marks?.length)
    out.push(
      `<text x="${m.left}" y="${m.top - 8}" fill="#D55E00">outlined: ${escape([...new Set(opts.marks.map((mk) => mk.label))].join("; "))}</text>`,
    );
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** Bars with error bars (±1 standard error), one per layer. */
export function barChartSvg(
  values: readonly { mean: number; se: number }[],
  opts: { title: string; xLabel: string; yLabel: string },
): string {
  const n = values.length;
  const m = { left: 64, top: 40, right: 24, bottom: 52 };
  const bw = Math.max(6, Math.min(40, Math.floor(640 / Math.max(1, n))));
  const pw = bw * n;
  const ph = 260;
  const W = Math.max(m.left + pw + m.right, 12 + opts.title.length * 9);
  const H = m.top + ph + m.bottom;
  const hi = Math.max(1e-12, ...values.map((v) => v.mean + v.se).filter(Number.isFinite));
  const ticks = niceTicks(0, hi, 5);
  const top = Math.max(hi * 1.04, ticks[ticks.length - 1]!);
  const sy = (y: number) => m.top + (1 - y / top) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escape(opts.title)}</text>`,
  ];
  for (const t of ticks) {
    out.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${f(sy(t))}" y2="${f(sy(t))}" stroke="#e5e5e5"/>`,
      `<text x="${m.left - 6}" y="${f(sy(t) + 4)}" text-anchor="end">${+t.toPrecision(3)}</text>`,
    );
  }
  const every = Math.max(1, Math.ceil(n / 24));
  values.forEach((v, l) => {
    const x = m.left + l * bw;
    const y = sy(Math.max(0, v.mean));
    out.push(
      `<rect x="${f(x + bw * 0.15)}" y="${f(y)}" width="${f(bw * 0.7)}" height="${f(m.top + ph - y)}" fill="#0072B2"><title>layer ${l}: ${v.mean.toFixed(4)} ± ${v.se.toFixed(4)}</title></rect>`,
      `<line x1="${f(x + bw / 2)}" x2="${f(x + bw / 2)}" y1="${f(sy(v.mean + v.se))}" y2="${f(sy(Math.max(0, v.mean - v.se)))}" stroke="#333"/>`,
    );
    if (l % every === 0)
      out.push(`<text x="${f(x + bw / 2)}" y="${m.top + ph + 16}" text-anchor="middle">${l}</text>`);
  });
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${m.left + pw / 2}" y="${H - 12}" text-anchor="middle">${escape(opts.xLabel)}</text>`,
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escape(opts.yLabel)}</text>`,
    "</svg>",
  );
  return out.join("\n") + "\n";
}
