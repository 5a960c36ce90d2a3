// A line chart as standalone SVG: held-out loss against training tokens, one line per run. Plain
// SVG 1.1 with no script or external font, so it renders the same in a browser, on GitHub and in
// image viewers.

export interface Series {
  label: string;
  points: { x: number; y: number }[];
  /** Drawn dashed (a control or reference run). */
  dashed?: boolean;
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** A horizontal reference line (e.g. the base model's starting loss) and its label. */
  reference?: { y: number; label: string };
  /** Points to mark with a vertical line and a label (where one curve passes another). */
  markers?: { x: number; y: number; label: string }[];
  width?: number;
  height?: number;
}

// Colour-blind-safe palette (Okabe–Ito).
const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];

const escape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** About `count` round tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart). */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** 1200 → "1.2k", 3500000 → "3.5M". */
export function shortNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}

export function lossPlotSvg(series: readonly Series[], opts: PlotOptions): string {
  const W = opts.width ?? 820;
  const H = opts.height ?? 420;
  const m = { left: 64, right: 270, top: 40, bottom: 52 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.map((p) => p.y)).concat(opts.reference ? [opts.reference.y] : []);
  const finite = (v: number[]) => v.filter(Number.isFinite);
  const x0 = Math.min(0, ...finite(xs));
  const x1 = Math.max(x0 + 1, ...finite(xs));
  let y0 = Math.min(...finite(ys));
  let y1 = Math.max(...finite(ys));
  if (!Number.isFinite(y0)) [y0, y1] = [0, 1];
  const pad = (y1 - y0) * 0.06 || 0.5;
  y0 -= pad;
  y1 += pad;
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.top + (1 - (y - y0) / (y1 - y0)) * ph;
  const f = (v: number) => v.toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2 - m.right / 2 + m.left / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escape(opts.title)}</text>`,
  ];
  for (const t of niceTicks(y0, y1, 6)) {
    out.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${f(sy(t))}" y2="${f(sy(t))}" stroke="#e5e5e5"/>`,
      `<text x="${m.left - 6}" y="${f(sy(t) + 4)}" text-anchor="end">${shortNumber(t)}</text>`,
    );
  }
  for (const t of niceTicks(x0, x1, 6)) {
    out.push(
      `<line x1="${f(sx(t))}" x2="${f(sx(t))}" y1="${m.top}" y2="${m.top + ph}" stroke="#f0f0f0"/>`,
      `<text x="${f(sx(t))}" y="${m.top + ph + 18}" text-anchor="middle">${shortNumber(t)}</text>`,
    );
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${m.left + pw / 2}" y="${H - 12}" text-anchor="middle">${escape(opts.xLabel)}</text>`,
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escape(opts.yLabel)}</text>`,
  );
  if (opts.reference) {
    // The line spans the plot; its label goes in the legend, where no curve can run through it.
    const y = f(sy(opts.reference.y));
    const ly = m.top + 10 + series.length * 20;
    out.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${y}" y2="${y}" stroke="#777" stroke-dasharray="2 4"/>`,
      `<line x1="${m.left + pw + 14}" x2="${m.left + pw + 40}" y1="${ly}" y2="${ly}" stroke="#777" stroke-dasharray="2 4"/>`,
      `<text x="${m.left + pw + 46}" y="${ly + 4}" fill="#555">${escape(opts.reference.label)}</text>`,
    );
  }
  for (const mk of opts.markers ?? []) {
    const x = f(sx(mk.x));
    out.push(
      `<line x1="${x}" x2="${x}" y1="${m.top}" y2="${m.top + ph}" stroke="#333" stroke-dasharray="1 3"/>`,
      `<circle cx="${x}" cy="${f(sy(mk.y))}" r="5" fill="none" stroke="#333" stroke-width="1.5"/>`,
      `<text x="${f(sx(mk.x) + 6)}" y="${m.top + 14}" fill="#333">${escape(mk.label)}</text>`,
    );
  }
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    const dash = s.dashed ? ` stroke-dasharray="7 4"` : "";
    if (pts.length > 1)
      out.push(
        `<polyline fill="none" stroke="${colour}" stroke-width="2"${dash} points="${pts.map((p) => `${f(sx(p.x))},${f(sy(p.y))}`).join(" ")}"/>`,
      );
    for (const p of pts) out.push(`<circle cx="${f(sx(p.x))}" cy="${f(sy(p.y))}" r="2.5" fill="${colour}"/>`);
    const ly = m.top + 10 + i * 20;
    out.push(
      `<line x1="${m.left + pw + 14}" x2="${m.left + pw + 40}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"${dash}/>`,
      `<text x="${m.left + pw + 46}" y="${ly + 4}">${escape(s.label)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
