import type { Level, Template } from "../template.js";
import { LEVEL1 } from "./level1.js";
import { LEVEL2 } from "./level2.js";
import { LEVEL3 } from "./level3.js";
import { LEVEL4 } from "./level4.js";

/** Every template by level; a level's templates have exactly that many steps. */
export const TEMPLATES: Readonly<Record<Level, readonly Template[]>> = {
  1: LEVEL1,
  2: LEVEL2,
  3: LEVEL3,
  4: LEVEL4,
};
