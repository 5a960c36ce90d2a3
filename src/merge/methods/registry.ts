// Every merge method deepen runs, by mergekit's merge_method name (passthrough is the caller's).
// The task-arithmetic family is one implementation (taskArithmetic.ts); each entry names its
// sparsification, consensus and defaults, as mergekit/merge_methods/registry.py does.

import { karcher } from "./karcher.js";
import { linear } from "./linear.js";
import type { MergeMethod } from "./method.js";
import { modelStock } from "./modelStock.js";
import { nuslerp } from "./nuslerp.js";
import { slerp } from "./slerp.js";
import { type TaskArithmeticVariant, taskArithmeticMethod } from "./taskArithmetic.js";

const TASK_ARITHMETIC = "Ilharco et al., Editing Models with Task Arithmetic (arXiv 2212.04089)";
const TIES = "Yadav et al., TIES-Merging: Resolving Interference When Merging Models (arXiv 2306.01708)";
const DARE =
  "Yu et al., Language Models are Super Mario: Absorbing Abilities from Homologous Models as a Free Lunch (arXiv 2311.03099)";
const BREADCRUMBS =
  "Davari & Belilovsky, Model Breadcrumbs: Scaling Multi-Task Model Merging with Sparse Masks (arXiv 2312.06795)";
const DELLA =
  "Deep et al., DELLA-Merging: Reducing Interference in Model Merging through Magnitude-Based Sampling (arXiv 2406.11617)";

export const TASK_ARITHMETIC_VARIANTS: readonly TaskArithmeticVariant[] = [
  {
    name: "task_arithmetic",
    reference: TASK_ARITHMETIC,
    sparsification: "none",
    consensus: "none",
    defaultNormalize: false,
    defaultRescale: false,
  },
  {
    name: "ties",
    reference: TIES,
    sparsification: "magnitude",
    consensus: "sum",
    defaultNormalize: true,
    defaultRescale: false,
  },
  {
    name: "dare_ties",
    reference: DARE,
    sparsification: "random",
    consensus: "sum",
    defaultNormalize: false,
    defaultRescale: true,
  },
  {
    name: "dare_linear",
    reference: DARE,
    sparsification: "random",
    consensus: "none",
    defaultNormalize: false,
    defaultRescale: true,
  },
  {
    name: "breadcrumbs",
    reference: BREADCRUMBS,
    sparsification: "magnitude_outliers",
    consensus: "none",
    defaultNormalize: false,
    defaultRescale: false,
  },
  {
    name: "breadcrumbs_ties",
    reference: BREADCRUMBS,
    sparsification: "magnitude_outliers",
    consensus: "sum",
    defaultNormalize: false,
    defaultRescale: false,
  },
  {
    name: "della",
    reference: DELLA,
    sparsification: "della_magprune",
    consensus: "sum",
    defaultNormalize: true,
    defaultRescale: true,
  },
  {
    name: "della_linear",
    reference: DELLA,
    sparsification: "della_magprune",
    consensus: "none",
    defaultNormalize: false,
    defaultRescale: true,
  },
];

/** Every method by name. Read a name a config gives through methodNamed, never by indexing. */
export const METHODS: Record<string, MergeMethod> = Object.fromEntries(
  [linear, slerp, nuslerp, ...TASK_ARITHMETIC_VARIANTS.map(taskArithmeticMethod), modelStock, karcher].map(
    (m) => [m.name, m],
  ),
);

/**
 * The method a config's merge_method names, or undefined: an own property only, so names of the
 * object prototype (constructor, toString, __proto__) are unknown methods like any other.
 */
export function methodNamed(name: string): MergeMethod | undefined {
  return Object.hasOwn(METHODS, name) ? METHODS[name] : undefined;
}
