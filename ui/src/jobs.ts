// Long operations (导出本机数据, a document of many photos): the command runs with a
// job id of its own and a channel its progress comes back on; `cancel()` asks the
// backend to stop it (it stops between two steps and writes nothing more; the
// command then fails with code `cancelled`).
import { Channel, invoke } from "@tauri-apps/api/core";
import { toAppError } from "./api";
import type { JobProgress } from "./bindings/JobProgress";

export interface Job<T> {
  /** The command's answer (rejects with an AppError; `cancelled` once cancelled). */
  result: Promise<T>;
  cancel: () => Promise<void>;
}

let counter = 0;

/** A job id no other run of this window uses. */
export function newJobId(): string {
  counter += 1;
  return `job-${Date.now().toString(36)}-${counter}`;
}

export function runJob<T>(command: string, args: Record<string, unknown>, onProgress?: (p: JobProgress) => void): Job<T> {
  const job = newJobId();
  const progress = new Channel<JobProgress>();
  progress.onmessage = (p) => onProgress?.(p);
  const result = invoke<T>(command, { ...args, job, progress }).catch((e: unknown) => {
    throw toAppError(e);
  });
  return {
    result,
    cancel: () => invoke<null>("cancel_job", { job }).then(() => undefined).catch(() => undefined),
  };
}

/** Percent done for a progress bar (0 when no count is known). */
export function jobPercent(p: JobProgress | null): number {
  if (!p || p.total === 0) return 0;
  return Math.min(100, Math.round((100 * p.done) / p.total));
}
