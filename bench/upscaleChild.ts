// Runs one up-scale in its own process so its peak RSS is its own; prints {seconds, bytes, maxRssBytes} as JSON.
import { upscale } from "../src/surgery/upscale.js";
import { peakRssMiB } from "./common.js";

const [model, out] = process.argv.slice(2);
const t0 = performance.now();
const r = await upscale({ model, out });
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(JSON.stringify({ seconds, bytes: r.bytes, maxRssBytes: peakRssMiB() * 2 ** 20 }) + "\n");
