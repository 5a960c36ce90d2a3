// Where a task's documents and few-shot examples are: the file a user names, or in a folder the files
// a task's eval_files patterns match (MMLU's test/SUBJECT_test.csv, one sub-task per subject); the
// few-shot pool is the first of the task's fewshot_files found beside the evaluated file (ARC's
// Train file beside its Test file, MMLU's dev/SUBJECT_dev.csv).
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { UsageError } from "../../errors.js";
import type { TaskSpec } from "./taskSpec.js";

export interface EvalFile {
  path: string;
  /** The {subject} a pattern matched, if it has one. */
  subject?: string;
}

/** A pattern's basename as a regex: {subject} captures, * matches anything. */
function patternRegex(name: string): RegExp {
  const parts = name
    .split(/(\{subject\}|\*)/)
    .map((p) =>
      p === "{subject}" ? "(?<subject>.+?)" : p === "*" ? ".*" : p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
    );
  return new RegExp(`^${parts.join("")}$`);
}

function matching(dir: string, pattern: string, subject?: string): EvalFile[] {
  const rel = subject === undefined ? pattern : pattern.replaceAll("{subject}", subject);
  const folder = join(dir, dirname(rel));
  if (!existsSync(folder) || !statSync(folder).isDirectory()) return [];
  const re = patternRegex(basename(rel));
  return readdirSync(folder)
    .sort()
    .flatMap((f) => {
      const m = re.exec(f);
      return m ? [{ path: join(folder, f), subject: subject ?? m.groups?.subject }] : [];
    });
}

/** The files `path` names for `spec`: itself, or in a folder what eval_files match. */
export function evalFiles(spec: TaskSpec, path: string): EvalFile[] {
  if (!existsSync(path)) throw new UsageError(`${spec.task}: ${path}: no such file or folder`);
  if (!statSync(path).isDirectory()) return [{ path, subject: subjectOf(spec, path) }];
  for (const pattern of spec.eval_files) {
    const found = matching(path, pattern);
    if (found.length > 0) return found;
  }
  throw new UsageError(
    `${spec.task}: ${path} is a folder${spec.eval_files.length ? ` with no file matching ${spec.eval_files.join(" or ")}` : "; name the task's file"}`,
  );
}

/** The subject a single named file's name gives (anatomy_test.csv → anatomy). */
function subjectOf(spec: TaskSpec, path: string): string | undefined {
  for (const pattern of spec.eval_files) {
    const m = patternRegex(basename(pattern)).exec(basename(path));
    if (m?.groups?.subject) return m.groups.subject;
  }
  return undefined;
}

/** The few-shot file for an evaluated file, if one of the task's fewshot_files is beside it. */
export function fewshotFile(spec: TaskSpec, file: EvalFile): string | undefined {
  for (const pattern of spec.fewshot_files) {
    const found = matching(dirname(file.path), pattern, file.subject);
    const other = found.find((f) => f.path !== file.path);
    if (other) return other.path;
  }
  return undefined;
}
