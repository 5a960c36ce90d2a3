import cliProgress from "cli-progress";

export interface Progress {
  update(done: number): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Unit shown after the counts ("MB", "tokens"). */
  unit: string;
  /** Raw counts are divided by this for display (1e6 for bytes shown as MB). */
  divisor?: number;
  quiet?: boolean;
}

/**
 * Progress on stderr: a bar with rate and ETA on a TTY, a plain line per 10 % otherwise (logs and
 * CI stay readable, and jobs that finish within a second print nothing). Silent when `quiet`.
 */
export function progress(label: string, total: number, opts: ProgressOptions): Progress {
  if (opts.quiet || total <= 0) return { update() {}, stop() {} };
  const div = opts.divisor ?? 1;
  const fmt = (n: number) => (n / div).toFixed(0);
  const start = Date.now();
  const rate = (done: number) => fmt(done / Math.max((Date.now() - start) / 1000, 1e-3));
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {done}/{all} ${opts.unit} | {rate} ${opts.unit}/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { done: "0", all: fmt(total), rate: "0" });
    return {
      update: (done) => bar.update(done, { done: fmt(done), rate: rate(done) }),
      stop: () => bar.stop(),
    };
  }
  let printed = 0;
  return {
    update(done) {
      const tenth = Math.floor((done * 10) / total);
      if (tenth <= printed || Date.now() - start < 1000) return;
      printed = tenth;
      process.stderr.write(
        `${label}: ${tenth * 10}% (${fmt(done)} of ${fmt(total)} ${opts.unit}, ${rate(done)} ${opts.unit}/s)\n`,
      );
    },
    stop() {},
  };
}

export const byteProgress = (label: string, total: number, quiet = false): Progress =>
  progress(label, total, { unit: "MB", divisor: 1e6, quiet });
