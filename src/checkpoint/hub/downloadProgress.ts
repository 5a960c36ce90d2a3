// How a download reports itself. Commands that open a model by Hub id may download it without
// knowing; the CLI installs a reporter once, before any command runs, instead of threading one
// through every function that opens a model.

export interface DownloadProgress {
  repo: string;
  /** The file being fetched; undefined in the last report. */
  file: string | undefined;
  /** Bytes present (resumed ones included) and bytes the missing files hold in all. */
  done: number;
  total: number;
  /** Bytes per second over this run, and the seconds left at that rate (undefined before any byte). */
  rate: number;
  etaSeconds: number | undefined;
  finished: boolean;
}

export type ProgressListener = (p: DownloadProgress) => void;

let reporter: ProgressListener | undefined;

/** The listener downloads report to when their caller gives none. */
export function setDownloadReporter(listener: ProgressListener | undefined): void {
  reporter = listener;
}

export const downloadReporter = (): ProgressListener | undefined => reporter;
