// Values read from a file end up in error messages ("shape must be …, got X"). A value can be as big
// as the file: JSON.stringify of it would make a message of megabytes, or overflow the stack on a
// deeply nested one. This renders a bounded preview instead, and walks no more of the value than it
// prints.

/** Characters of a value a message shows; enough for any legitimate shape, dtype or setting. */
export const PREVIEW_CHARS = 80;

/** The value as JSON, cut with "…" after `max` characters (undefined as "undefined"). */
export function previewJson(value: unknown, max = PREVIEW_CHARS): string {
  let out = "";
  // Every container adds at least one character before recursing, so the recursion is at most
  // `max` deep: it stops as soon as the preview is full.
  const walk = (v: unknown): void => {
    if (out.length > max) return;
    if (Array.isArray(v)) {
      out += "[";
      for (let i = 0; i < v.length && out.length <= max; i++) {
        if (i > 0) out += ",";
        walk(v[i]);
      }
      out += "]";
    } else if (typeof v === "object" && v !== null) {
      out += "{";
      let first = true;
      for (const k in v) {
        if (out.length > max) break;
        if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
        out += `${first ? "" : ","}${JSON.stringify(k.length > max ? k.slice(0, max) : k)}:`;
        first = false;
        walk((v as Record<string, unknown>)[k]);
      }
      out += "}";
    } else if (typeof v === "string") {
      out += JSON.stringify(v.length > max ? v.slice(0, max) : v);
    } else if (v === undefined) {
      out += "undefined";
    } else {
      out += String(v); // numbers (NaN included), booleans, null
    }
  };
  walk(value);
  return out.length > max ? `${out.slice(0, max)}…` : out;
}
