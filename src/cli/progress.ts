import cliProgress from "cli-progress";

export interface Progress {
  update(done: number): void;
  stop(): void;
}

const MB = 1e6;

/**
 * Byte progress on stderr: a bar with rate and ETA on a TTY, a plain line per 10 % otherwise
 * (logs and CI stay readable). Silent when `quiet`.
 */
export function byteProgress(label: string, total: number, quiet = false): Progress {
  if (quiet || total <= 0) return { update() {}, stop() {} };
  const start = Date.now();
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {done}/{all} MB | {rate} MB/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    const fmt = (b: number) => (b / MB).toFixed(0);
    bar.start(total, 0, { done: "0", all: fmt(total), rate: "0" });
    return {
      update(done) {
        const s = (Date.now() - start) / 1000;
        bar.update(done, { done: fmt(done), rate: s > 0 ? (done / MB / s).toFixed(0) : "0" });
      },
      stop: () => bar.stop(),
    };
  }
  // Plain lines: one per 10 % step, and none for jobs that finish within a second.
  let printed = 0;
  return {
    update(done) {
      const tenth = Math.floor((done * 10) / total);
      const s = (Date.now() - start) / 1000;
      if (tenth <= printed || s < 1) return;
      printed = tenth;
      process.stderr.write(
        `${label}: ${tenth * 10}% (${(done / MB).toFixed(0)} of ${(total / MB).toFixed(0)} MB, ${(done / MB / s).toFixed(0)} MB/s)\n`,
      );
    },
    stop() {},
  };
}
