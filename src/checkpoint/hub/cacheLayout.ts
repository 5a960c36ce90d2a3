// The Hugging Face cache as huggingface_hub writes it, so either tool reads what the other wrote:
//   models--ORG--NAME/blobs/<etag>                     file contents, named by their hash
//   models--ORG--NAME/snapshots/<commit>/<path>        relative symlinks into ../../blobs
//   models--ORG--NAME/refs/<branch or tag>             the commit it pointed at when last fetched
import { join } from "node:path";
import { hubCacheDir } from "./hubSettings.js";

export const CACHE_PREFIX = "models--";
/** A full git commit hash. */
export const COMMIT = /^[0-9a-f]{40}$/;

/** The Hub's repo names (what `models--ORG--NAME` can hold unambiguously): ORG/NAME of letters, digits, `-`, `_` and `.`, neither starting nor ending
 * with `-` or `.` (so `./x` and `../x` stay paths) and without `--` or `..`. */
const NAME_PART = "[A-Za-z0-9_](?:[\\w.-]*[A-Za-z0-9_])?";
const REPO_NAME = new RegExp(`^${NAME_PART}/${NAME_PART}$`);
export const isRepoId = (s: string): boolean => REPO_NAME.test(s) && !/--|\.\./.test(s);

/** `ORG/NAME` → `models--ORG--NAME`. */
export const repoFolderName = (repo: string): string => CACHE_PREFIX + repo.split("/").join("--");

/** `models--ORG--NAME` → `ORG/NAME`. */
export const repoOfFolderName = (folder: string): string =>
  folder.slice(CACHE_PREFIX.length).split("--").join("/");

export const repoCacheDir = (repo: string): string => join(hubCacheDir(), repoFolderName(repo));

export const blobsDir = (repoDir: string): string => join(repoDir, "blobs");
export const snapshotDir = (repoDir: string, commit: string): string => join(repoDir, "snapshots", commit);
export const refFile = (repoDir: string, revision: string): string => join(repoDir, "refs", revision);
