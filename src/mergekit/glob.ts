// The glob of a parameter's `filter:` (Python's fnmatch: * any run, ? one character, [seq] one of,
// [!seq] none of, a-z a range inside brackets; everything else, backslash included, itself), matched
// anywhere in a tensor name. Matched here rather than by a regular expression built from the text:
// a stray [ cannot become a SyntaxError, and a filter of many *s cannot backtrack for minutes (the
// match is O(pattern × name)).

type Token =
  | { kind: "any" }
  | { kind: "one" }
  | { kind: "char"; c: string }
  | { kind: "set"; negate: boolean; chars: string; ranges: [string, string][] };

export interface Glob {
  tokens: Token[];
}

/** The filter as shown in a message: quoted, and cut short (a filter is whatever the file holds). */
export function showFilter(filter: string): string {
  const MAX_SHOWN = 60;
  return JSON.stringify(filter.length > MAX_SHOWN ? `${filter.slice(0, MAX_SHOWN)}…` : filter);
}

/**
 * Parses a glob; a string says what is wrong with it. fnmatch reads a [ without its ] as a literal
 * [ and drops a reversed range; both are far likelier a slip than meant, so they are refused here
 * ([[] is a literal [).
 */
export function parseGlob(filter: string): Glob | string {
  const tokens: Token[] = [];
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i]!;
    if (c === "*") {
      if (tokens.at(-1)?.kind !== "any") tokens.push({ kind: "any" });
    } else if (c === "?") tokens.push({ kind: "one" });
    else if (c !== "[") tokens.push({ kind: "char", c });
    else {
      // As fnmatch: a ! first negates, and a ] first (after the !) is a member, not the end.
      let j = i + 1;
      const negate = filter[j] === "!";
      if (negate) j++;
      const start = j;
      if (filter[j] === "]") j++;
      j = filter.indexOf("]", j);
      if (j < 0) return `the [ at character ${i + 1} has no closing ] (write [[] for a literal [)`;
      const body = filter.slice(start, j);
      const set: Token & { kind: "set" } = { kind: "set", negate, chars: "", ranges: [] };
      for (let k = 0; k < body.length; k++) {
        if (body[k + 1] === "-" && k + 2 < body.length) {
          const lo = body[k]!;
          const hi = body[k + 2]!;
          if (lo > hi) return `the range ${lo}-${hi} at character ${i + 1} is reversed`;
          set.ranges.push([lo, hi]);
          k += 2;
        } else set.chars += body[k];
      }
      tokens.push(set);
      i = j;
    }
  }
  return { tokens };
}

function matchesOne(t: Token, c: string): boolean {
  switch (t.kind) {
    case "one":
      return true;
    case "char":
      return t.c === c;
    case "set": {
      const inSet = t.chars.includes(c) || t.ranges.some(([lo, hi]) => lo <= c && c <= hi);
      return inSet !== t.negate;
    }
    default:
      return false;
  }
}

/** Whether the glob matches somewhere in `name`: as if it began and ended with *. */
export function globMatchesAnywhere(glob: Glob, name: string): boolean {
  const p: Token[] = [{ kind: "any" }, ...glob.tokens, { kind: "any" }];
  // Greedy matching that, on a mismatch, lets the last * take one more character.
  let pi = 0;
  let ni = 0;
  let star = -1;
  let starAt = 0;
  while (ni < name.length) {
    const t = p[pi];
    if (t?.kind === "any") {
      star = pi++;
      starAt = ni;
    } else if (t !== undefined && matchesOne(t, name[ni]!)) {
      pi++;
      ni++;
    } else if (star >= 0) {
      pi = star + 1;
      ni = ++starAt;
    } else return false;
  }
  while (p[pi]?.kind === "any") pi++;
  return pi === p.length;
}
