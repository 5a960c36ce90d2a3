import { UsageError } from "../../errors.js";
import { LEVELS, type Level } from "./template.js";

/** --levels "1-4", "2", "1,3" or "1-2,4" as the sorted set of levels; a one-line UsageError otherwise. */
export function parseLevels(value: string, option = "--levels"): Level[] {
  const bad = (why: string) => new UsageError(`${option} ${value}: ${why}`);
  const found = new Set<Level>();
  const asLevel = (t: string): Level => {
    const n = Number(t);
    if (!/^\d+$/.test(t) || !LEVELS.includes(n as Level)) throw bad(`levels are ${LEVELS.join(", ")}`);
    return n as Level;
  };
  for (const part of value.split(",")) {
    const m = /^\s*(\w+)\s*(?:-\s*(\w+)\s*)?$/.exec(part);
    if (!m) throw bad("expected levels such as 1-4, 2 or 1,3");
    const lo = asLevel(m[1]!);
    const hi = m[2] === undefined ? lo : asLevel(m[2]);
    if (hi < lo) throw bad(`the range ${lo}-${hi} runs backwards`);
    for (const l of LEVELS) if (l >= lo && l <= hi) found.add(l);
  }
  return [...found].sort((a, b) => a - b);
}
