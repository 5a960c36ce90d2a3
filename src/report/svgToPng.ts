// PNG from our SVG charts, for places that do not show SVG (some chat tools, slide decks).
// resvg (a Rust renderer with prebuilt Node binaries) draws text with the system's fonts.
import { Resvg } from "@resvg/resvg-js";

/** Renders `svg` at `scale` × its own size. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const r = new Resvg(svg, { fitTo: { mode: "zoom", value: scale }, font: { loadSystemFonts: true } });
  return r.render().asPng();
}
