// Runs one up-scale in its own process so its peak RSS is its own; prints {seconds, bytes, maxRssBytes} as JSON.
import { readFileSync } from "node:fs";
import { upscale } from "../src/surgery/upscale.js";

/** VmHWM, the resident high-water mark; unlike getrusage's maxrss it is not inherited from the parent across exec. */
function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

const [model, out] = process.argv.slice(2);
const t0 = performance.now();
const r = await upscale({ model, out });
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(JSON.stringify({ seconds, bytes: r.bytes, maxRssBytes: peakRss() }) + "\n");
