import { UsageError } from "../errors.js";

export type ScheduleKind = "cosine" | "linear" | "constant";
export const SCHEDULES: readonly ScheduleKind[] = ["cosine", "linear", "constant"];

export interface Schedule {
  kind: ScheduleKind;
  /** Peak learning rate, reached at the end of warmup. */
  lr: number;
  /** Where cosine and linear decay end. */
  minLr: number;
  warmup: number;
  totalSteps: number;
}

export function checkSchedule(s: Schedule): void {
  if (!SCHEDULES.includes(s.kind))
    throw new UsageError(`--schedule ${s.kind}: expected ${SCHEDULES.join(", ")}`);
  if (!(s.lr > 0)) throw new UsageError(`--lr ${s.lr}: must be > 0`);
  if (!(s.minLr >= 0 && s.minLr <= s.lr))
    throw new UsageError(`--min-lr ${s.minLr}: must be between 0 and --lr`);
  if (s.warmup > s.totalSteps)
    throw new UsageError(`--warmup ${s.warmup}: longer than the run (${s.totalSteps} steps)`);
}

/** Learning rate of optimizer step `step` (1-based): linear warmup, then decay to minLr at totalSteps. */
export function learningRate(s: Schedule, step: number): number {
  if (s.warmup > 0 && step <= s.warmup) return (s.lr * step) / s.warmup;
  if (s.kind === "constant") return s.lr;
  const progress = Math.min(1, (step - s.warmup) / Math.max(1, s.totalSteps - s.warmup));
  if (s.kind === "linear") return s.lr - (s.lr - s.minLr) * progress;
  return s.minLr + 0.5 * (s.lr - s.minLr) * (1 + Math.cos(Math.PI * progress));
}
