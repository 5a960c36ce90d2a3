// The tasks of `--suite tiny`, built with no download from what deepen ships: the held-out split of
// the embedded corpus (text deepen-tiny was not trained on) and `deepen data math`'s generator. Each
// is deterministic: the same documents for every model and run. Their prompts and metrics are task
// files like the others (tasks/tiny_*.yaml); only the documents are made here.
//   tiny_nextsentence  a sentence, then its real successor among four (three from elsewhere)
//   tiny_cloze         a sentence without its last word, the word among four of similar length
//   tiny_math          GSM8K-form generation on the math generator's test split, exact match
//   tiny_perplexity    word and byte perplexity of the held-out documents
import { readDocuments } from "../../data/corpus.js";
import { generateMathSet } from "../../data/math/generate.js";
import { LEVELS } from "../../data/math/template.js";
import { mulberry32 } from "../../random.js";
import type { Doc } from "./readDocs.js";
import type { DocSet } from "./runTask.js";

export const TINY_TASKS = ["tiny_nextsentence", "tiny_cloze", "tiny_math", "tiny_perplexity"] as const;
export type TinyTask = (typeof TINY_TASKS)[number];

/** Documents per multiple-choice and generation task: enough for a stderr of a few points. */
export const TINY_DOCS = 400;
const SEED = 20261202;

const HELDOUT = "embedded:heldout";

async function heldoutTexts(): Promise<string[]> {
  const out: string[] = [];
  for await (const d of readDocuments([HELDOUT])) out.push(d.text);
  return out;
}

/** Sentences of plain prose: split after . ! ? before a capital, kept when 6–40 words long. */
function sentences(text: string): string[] {
  return text
    .replace(/\s+/g, " ")
    .split(/(?<=[.!?])\s+(?=[A-Z"])/)
    .map((s) => s.trim())
    .filter((s) => {
      const words = s.split(" ").length;
      return words >= 6 && words <= 40;
    });
}

function shuffled<T>(xs: T[], rand: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const set = (docs: Doc[], source: string): DocSet => ({ docs, where: (i) => `${source} [${i}]`, source });

/** Context sentence, four endings, the gold index. */
function nextSentence(texts: string[], rand: () => number): Doc[] {
  const pairs: [string, string][] = [];
  const all: string[] = [];
  for (const t of texts) {
    const s = sentences(t);
    for (let i = 0; i + 1 < s.length; i += 2) pairs.push([s[i]!, s[i + 1]!]);
    all.push(...s);
  }
  return shuffled(pairs, rand)
    .slice(0, TINY_DOCS)
    .map(([context, next]) => {
      const endings = [next];
      while (endings.length < 4) {
        const other = all[Math.floor(rand() * all.length)]!;
        if (!endings.includes(other) && other !== context) endings.push(other);
      }
      const order = shuffled([0, 1, 2, 3], rand);
      return { context, endings: order.map((k) => endings[k]!), label: order.indexOf(0) };
    });
}

/** A sentence cut before its last word; the word and three of the corpus's words of similar length. */
function cloze(texts: string[], rand: () => number): Doc[] {
  const pool = new Map<number, string[]>();
  const items: { context: string; word: string }[] = [];
  for (const t of texts)
    for (const s of sentences(t)) {
      const m = /^(.*\s)([A-Za-z]+)[.!?]$/.exec(s);
      if (!m || m[2]!.length < 3) continue;
      const word = m[2]!.toLowerCase() === m[2] ? m[2]! : "";
      if (!word) continue;
      items.push({ context: m[1]!.trimEnd(), word });
      const bucket = pool.get(word.length) ?? [];
      if (!bucket.includes(word)) bucket.push(word);
      pool.set(word.length, bucket);
    }
  return shuffled(items, rand)
    .slice(0, TINY_DOCS)
    .map(({ context, word }) => {
      const options = [word];
      const near = [word.length - 1, word.length, word.length + 1].flatMap((n) => pool.get(n) ?? []);
      while (options.length < 4) {
        const w = near[Math.floor(rand() * near.length)]!;
        if (!options.includes(w)) options.push(w);
      }
      const order = shuffled([0, 1, 2, 3], rand);
      return { context, options: order.map((k) => options[k]!), label: order.indexOf(0) };
    });
}

/** GSM8K-shaped records ({question, answer ending "#### N"}) from the math generator. */
function math(): { test: Doc[]; train: Doc[] } {
  const m = generateMathSet({ n: 4000, seed: 1, levels: LEVELS, rephrase: 1, testFraction: 0.1 });
  const doc = (r: (typeof m.test)[number]): Doc => ({
    question: r.messages[0].content,
    answer: r.messages[1].content,
    level: r.level,
  });
  return { test: m.test.slice(0, TINY_DOCS).map(doc), train: m.train.map(doc) };
}

/** The documents (and few-shot pool, where the task has one) of a tiny task. */
export async function tinyDocs(task: TinyTask): Promise<{ evalSet: DocSet; pool?: DocSet }> {
  const rand = mulberry32(SEED);
  if (task === "tiny_math") {
    const m = math();
    return { evalSet: set(m.test, "math test split"), pool: set(m.train, "math train split") };
  }
  const texts = await heldoutTexts();
  if (task === "tiny_perplexity")
    return {
      evalSet: set(
        texts.map((text) => ({ text })),
        HELDOUT,
      ),
    };
  if (task === "tiny_nextsentence") return { evalSet: set(nextSentence(texts, rand), HELDOUT) };
  return { evalSet: set(cloze(texts, rand), HELDOUT) };
}
