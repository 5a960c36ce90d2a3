import { existsSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { formatModelRef, type ModelPath, parseModelRef } from "../checkpoint/modelRef.js";

/** mergekit resolves paths from the working directory; a recipe kept beside its models works too. */
function locatePath(path: string, recipeFile: string): string {
  if (isAbsolute(path) || existsSync(path)) return path;
  const beside = join(dirname(recipeFile), path);
  return existsSync(beside) ? beside : path;
}

/** A reference with each of its paths (model and adapter) found from the working directory or the recipe's. */
export function locateModel(ref: string, recipeFile: string): string {
  if (existsSync(ref) || existsSync(join(dirname(recipeFile), ref))) return locatePath(ref, recipeFile);
  const parsed = parseModelRef(ref);
  const at = (p: ModelPath): ModelPath => ({ ...p, path: locatePath(p.path, recipeFile) });
  return formatModelRef({ ...at(parsed), adapter: parsed.adapter && at(parsed.adapter) });
}
