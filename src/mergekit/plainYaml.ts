// YAML text to plain data (mappings, lists, strings, numbers, booleans, null), with the limits that
// keep a broken or hostile file to one line of error in bounded time:
// - nesting is bounded while parsing: the yaml package composes nodes recursively; a thousand
//   levels overflow the stack, and near its end V8 can abort the process (seen at ten thousand);
// - duplicate keys are found with a Set per mapping: the package's own check (uniqueKeys) compares
//   every pair of keys, minutes for a file of 200k keys;
// - a warning (an unresolved tag) is an error, not the package's multi-line YAMLWarning on stderr;
// - what is not plain data is refused: YAML 1.1's !!set, !!omap, !!binary and timestamps, and an
//   alias inside the collection it names (a loop that no reader of the config expects).
import { Composer, type CST, type Document, isScalar, Lexer, LineCounter, Parser, visit } from "yaml";

/**
 * Nesting the parser may reach (its stack: document, collections, pairs). A mergekit config nests
 * about 10 deep (slices → sources → parameters → {filter, value} → gradient); 64 leaves room and
 * stays far below where composing overflows the stack (about 1,000).
 */
export const MAX_YAML_DEPTH = 64;
/** Alias expansions (the yaml package's default): enough for any config, no exponential blow-up. */
export const MAX_YAML_ALIASES = 100;
/** Characters of the file's own text that a message quotes at most. */
const MAX_QUOTED = 80;

const clip = (s: string) => (s.length > MAX_QUOTED ? `${s.slice(0, MAX_QUOTED)}…` : s);
/** A yaml message's first line, shortened (a tag or token it names is the file's text). */
const oneLine = (s: string) => clip(s.split("\n")[0]!.trim());

/** Parses `text` as one YAML document of plain data; `fail` turns a one-line message into the caller's error. */
export function parsePlainYaml(text: string, fail: (detail: string) => Error): unknown {
  const lines = new LineCounter();
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return `line ${line}, column ${col}`;
  };
  const docs: Document.Parsed[] = [];
  let tooDeep: number | undefined; // where the nesting passed MAX_YAML_DEPTH
  try {
    const parser = new Parser(lines.addNewLine);
    const composer = new Composer({ uniqueKeys: false, resolveKnownTags: false });
    const feed = (tokens: Iterable<CST.Token>) => {
      for (const t of tokens) for (const d of composer.next(t)) docs.push(d);
    };
    lines.addNewLine(0);
    // Token by token, as the package's parse() does, so that the nesting is seen as it grows.
    for (const lexeme of new Lexer().lex(text)) {
      feed(parser.next(lexeme));
      if (parser.stack.length > MAX_YAML_DEPTH) {
        tooDeep = parser.offset;
        break;
      }
    }
    if (tooDeep === undefined) {
      feed(parser.end());
      for (const d of composer.end(true, text.length)) docs.push(d);
    }
  } catch (e) {
    throw fail(`not valid YAML: ${oneLine(e instanceof Error ? e.message : String(e))}`);
  }
  if (tooDeep !== undefined) throw fail(`${at(tooDeep)}: nested deeper than ${MAX_YAML_DEPTH} levels`);
  const doc = docs[0]!;
  if (docs.length > 1) throw fail(`${at(docs[1]!.range[0])}: a second YAML document; give one`);
  const error = doc.errors[0];
  if (error) throw fail(`not valid YAML: ${at(error.pos[0])}: ${oneLine(error.message)}`);
  const warning = doc.warnings[0];
  if (warning) {
    const tag = /^Unresolved tag: (.*)$/.exec(warning.message.split("\n")[0]!);
    throw fail(
      tag
        ? `${at(warning.pos[0])}: unresolved tag ${clip(tag[1]!)}: deepen reads plain YAML, without custom tags`
        : `${at(warning.pos[0])}: ${oneLine(warning.message)}`,
    );
  }
  // Keys as the mapping's JavaScript object will have them: 1 and "1" are the same key there.
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const { key } of map.items) {
        const where = at((key as { range?: [number] } | null)?.range?.[0] ?? map.range?.[0] ?? 0);
        if (!isScalar(key))
          throw fail(`${where}: a mapping key must be a plain value, not a list, mapping or alias`);
        const name = String(key.value);
        if (seen.has(name)) throw fail(`${where}: key ${clip(name)} appears twice in one mapping`);
        seen.add(name);
      }
    },
  });
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    throw fail(`not valid YAML: ${oneLine((e as Error).message)}`);
  }
  checkPlain(data, fail);
  return data;
}

/**
 * Refuses anything but plain data, and collections that contain themselves through an alias. Walks
 * each collection once (aliases share them), without recursion.
 */
function checkPlain(root: unknown, fail: (d: string) => Error): void {
  const finished = new Set<object>();
  const onPath = new Set<object>();
  const stack: { node: object; kids: unknown[]; next: number }[] = [];
  const enter = (v: unknown) => {
    if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return;
    if (typeof v !== "object") throw fail(`holds a ${typeof v}; deepen reads plain YAML`);
    if (onPath.has(v)) throw fail("an alias names a collection that holds it: a config must not loop");
    if (finished.has(v)) return;
    if (!Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype) {
      const kind = (v as { constructor?: { name?: string } }).constructor?.name ?? "value";
      throw fail(
        `holds a ${kind} (a YAML 1.1 type such as !!set, !!omap, !!binary or a timestamp); deepen reads plain YAML`,
      );
    }
    onPath.add(v);
    stack.push({ node: v, kids: Array.isArray(v) ? v : Object.values(v), next: 0 });
  };
  enter(root);
  while (stack.length > 0) {
    const top = stack.at(-1)!;
    if (top.next < top.kids.length) enter(top.kids[top.next++]);
    else {
      stack.pop();
      onPath.delete(top.node);
      finished.add(top.node);
    }
  }
}
