// Parameters a merge method does not take. mergekit accepts and ignores them, and published configs
// carry them (weight on model_stock, density on linear, normalize on passthrough), so deepen runs
// those configs too, saying once per name what it ignores, and what a near miss probably meant.
import { didYouMean } from "./didYouMean.js";

/** One parameter as written: its name and where (e.g. `models[1].parameters`). */
export interface ParameterUse {
  name: string;
  where: string;
}

/** One warning per distinct unused name, listing where it was written. */
export function unusedParameterWarnings(
  file: string,
  method: string,
  uses: readonly ParameterUse[],
  known: readonly string[],
): string[] {
  const places = new Map<string, string[]>();
  for (const u of uses) {
    if (known.includes(u.name)) continue;
    const list = places.get(u.name) ?? [];
    list.push(u.where);
    places.set(u.name, list);
  }
  return [...places].map(([name, where]) => {
    const guess = didYouMean(name, known);
    const takes = known.length ? `it takes ${known.join(", ")}` : "it takes none";
    return (
      `${file}: parameter ${name} is not used by merge_method ${method} (${takes}); ignored, as mergekit ignores it` +
      ` [${where.join(", ")}]` +
      (guess ? `; did you mean ${guess}?` : "")
    );
  });
}

/** Where warnings go when the caller gives no handler: one line each on stderr, as the CLI prints them. */
export const warnOnStderr = (w: string): void => void process.stderr.write(`deepen: warning: ${w}\n`);
