import { existsSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";

/** mergekit resolves paths from the working directory; a recipe kept beside its models works too. */
export function locateModel(ref: string, recipeFile: string): string {
  if (isAbsolute(ref) || existsSync(ref)) return ref;
  const beside = join(dirname(recipeFile), ref);
  return existsSync(beside) ? beside : ref;
}
