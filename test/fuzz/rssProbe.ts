// Loaded into each CLI child of the fuzz suite with --import: at exit, writes the process's peak
// resident memory (kilobytes) where DEEPEN_FUZZ_RSS_FILE says. Does nothing without that variable
// (the test runner also loads this file on its own).
import { writeFileSync } from "node:fs";

const file = process.env.DEEPEN_FUZZ_RSS_FILE;
if (file) {
  process.on("exit", () => {
    try {
      writeFileSync(file, String(process.resourceUsage().maxRSS));
    } catch {
      // the measure is lost, the run is not
    }
  });
}
