import { describe, expect, it, vi } from "vitest";

const calls: { command: string; args: Record<string, unknown> }[] = [];
let finish: ((v: unknown) => void) | null = null;
let fail: ((e: unknown) => void) | null = null;
vi.mock("@tauri-apps/api/core", () => ({
  invoke: vi.fn((command: string, args: Record<string, unknown>) => {
    calls.push({ command, args });
    if (command === "cancel_job") return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
  }),
  Channel: class {
    onmessage: ((m: unknown) => void) | null = null;
  },
}));

import { jobPercent, runJob } from "./jobs";

describe("long operations", () => {
  it("send a job id and a progress channel, report progress, and cancel by that id", async () => {
    const seen: unknown[] = [];
    const job = runJob<{ path: string }>("export_data", {}, (p) => seen.push(p));
    const args = calls[0].args as { job: string; progress: { onmessage: (m: unknown) => void } };
    expect(calls[0].command).toBe("export_data");
    expect(args.job).toMatch(/^job-/);
    args.progress.onmessage({ label: "正在复制照片、签名和文书", done: 3, total: 10 });
    expect(seen).toEqual([{ label: "正在复制照片、签名和文书", done: 3, total: 10 }]);
    await job.cancel();
    expect(calls[1]).toEqual({ command: "cancel_job", args: { job: args.job } });
    fail?.({ code: "cancelled", message: "已取消" });
    await expect(job.result).rejects.toEqual({ code: "cancelled", message: "已取消" });
  });

  it("each run has its own id", () => {
    runJob("generate_document", { taskId: "t", kind: "evidence" });
    runJob("generate_document", { taskId: "t", kind: "record" });
    const ids = calls.slice(-2).map((c) => c.args.job);
    expect(ids[0]).not.toBe(ids[1]);
    finish?.(null);
  });

  it("show percent only when there is a count", () => {
    expect(jobPercent(null)).toBe(0);
    expect(jobPercent({ label: "正在排版生成 PDF", done: 0, total: 0 })).toBe(0);
    expect(jobPercent({ label: "x", done: 1, total: 3 })).toBe(33);
    expect(jobPercent({ label: "x", done: 5, total: 3 })).toBe(100);
  });
});
