// deepen's JSON (every --json, demo.json) speaks one style, snake_case, as Hugging Face's files do;
// the TypeScript records behind it keep the language's camelCase, converted here on the way out.

/** "layerGroups" → "layer_groups"; keys without a lower-to-upper step ("BF16", tensor names) stay. */
export function snakeCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, (_, a: string, b: string) => `${a}_${b.toLowerCase()}`);
}

/** A deep copy of `value` with every object key in snake_case. */
export function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [snakeCase(k), snakeCaseKeys(v)]));
}
