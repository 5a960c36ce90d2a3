import { ArchitectureError } from "../errors.js";
import type { ModelConfig } from "../checkpoint/modelFolder.js";
import { previewJson } from "../checkpoint/previewJson.js";
import { type ArchFamily, FAMILIES } from "./families.js";

/** The table row for a model's config.json, or an error that says how to add one. */
export function findFamily(config: ModelConfig, configFile: string): ArchFamily {
  const archs = Array.isArray(config.architectures) ? config.architectures : [];
  for (const a of archs) {
    const row = typeof a === "string" ? FAMILIES.find((f) => f.architectures.includes(a)) : undefined;
    if (row) return row;
  }
  const named = archs.length ? previewJson(archs) : "(no architectures field)";
  const known = FAMILIES.flatMap((f) => f.architectures).join(", ");
  throw new ArchitectureError(
    `${configFile}: architecture ${named} is not supported (known: ${known}); ` +
      `add a row for it to src/arch/families.ts naming its layer prefix, layer-count key and per-layer config keys`,
  );
}

export function familyByName(name: string): ArchFamily {
  const row = FAMILIES.find((f) => f.family === name);
  if (!row)
    throw new ArchitectureError(`unknown family ${name}; known: ${FAMILIES.map((f) => f.family).join(", ")}`);
  return row;
}
