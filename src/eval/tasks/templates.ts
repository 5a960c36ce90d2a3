// A task's templates are Jinja, as the harness's YAML tasks are, rendered over one document's fields
// through @huggingface/jinja. A template that is a single expression, `{{ … }}`, may stand for a
// value rather than text (a list of choices, a gold index): it is evaluated to JSON and parsed back,
// which is how the harness reads doc_to_choice and doc_to_target.
import { Template } from "@huggingface/jinja";
import { UsageError } from "../../errors.js";
import type { Doc } from "./readDocs.js";

// Jinja drops a template's final newline unless told to keep it; the harness keeps it (MMLU's
// description ends in a blank line). A sentinel after the source keeps it, and goes afterwards.
const KEEP_END = "\uE000";

const compiled = new Map<string, Template>();

function compile(source: string, what: string): Template {
  let t = compiled.get(source);
  if (!t) {
    try {
      t = new Template(source);
    } catch (e) {
      const shown = JSON.stringify(source.replace(KEEP_END, ""));
      throw new UsageError(`${what}: the template ${shown} does not parse: ${(e as Error).message}`);
    }
    compiled.set(source, t);
  }
  return t;
}

/** `source` rendered over `doc`; `what` names the task, the key and the record for the error. */
export function renderText(source: string, doc: Doc, what: string): string {
  try {
    const out = compile(source + KEEP_END, what).render(doc);
    return out.endsWith(KEEP_END) ? out.slice(0, -KEEP_END.length) : out;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${what}: ${JSON.stringify(source)} fails to render: ${(e as Error).message}`);
  }
}

const SINGLE_EXPRESSION = /^\s*\{\{(.*)\}\}\s*$/s;

/** A template's value: a single `{{ expression }}` gives the expression's value (list, number,
 * string…); any other template gives its rendered text. */
export function renderValue(source: string, doc: Doc, what: string): unknown {
  const m = SINGLE_EXPRESSION.exec(source);
  if (!m || m[1]!.includes("}}") || m[1]!.includes("{{")) return renderText(source, doc, what);
  const json = renderText(`{{ (${m[1]}) | tojson }}`, doc, what);
  try {
    return JSON.parse(json);
  } catch {
    return json;
  }
}
