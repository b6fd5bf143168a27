import { beforeEach, describe, expect, it, vi } from "vitest";

// The backend is replaced by a fake whose answers the test releases one by one, so
// the order in which edits reach it is what the UI sent, not a timing accident.
const sent: string[] = [];
const waiting: { command: string; release: () => void }[] = [];
vi.mock("@tauri-apps/api/core", () => ({
  invoke: vi.fn((command: string, args: Record<string, unknown>) => {
    const input = args?.input as { verdict?: string; observation?: string } | undefined;
    sent.push(`${command}:${input?.verdict ?? input?.observation ?? ""}`);
    if (command === "sync_status") return Promise.resolve({ running: true });
    return new Promise((resolve, reject) => {
      waiting.push({
        command,
        release: () => (input?.verdict === "bad" ? reject({ code: "invalid", message: "不行" }) : resolve({ ok: true })),
      });
    });
  }),
  Channel: class {
    onmessage: ((m: unknown) => void) | null = null;
  },
}));

import { api } from "./api";

beforeEach(() => {
  sent.length = 0;
  waiting.length = 0;
});

async function settle() {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe("edits go to the backend in the order they were made", () => {
  it("sends the next edit only after the previous one is answered", async () => {
    const first = api.answer({ task_id: "t", point: "p", verdict: "compliant" });
    const second = api.setObservation({ task_id: "t", point: "p", observation: "记录缺失" });
    const third = api.answer({ task_id: "t", point: "p", verdict: "non_compliant" });
    await settle();
    expect(sent).toEqual(["answer:compliant"]);
    // A read is not an edit: it goes at once, beside the waiting edits.
    await api.syncStatus();
    expect(sent).toEqual(["answer:compliant", "sync_status:"]);
    waiting.shift()?.release();
    await first;
    await settle();
    expect(sent.slice(2)).toEqual(["set_observation:记录缺失"]);
    waiting.shift()?.release();
    await second;
    await settle();
    waiting.shift()?.release();
    await third;
    expect(sent.slice(2)).toEqual(["set_observation:记录缺失", "answer:non_compliant"]);
  });

  it("a refused edit does not hold up the next one", async () => {
    const refused = api.answer({ task_id: "t", point: "p", verdict: "bad" as never });
    const next = api.answer({ task_id: "t", point: "q", verdict: "compliant" });
    await settle();
    waiting.shift()?.release();
    await expect(refused).rejects.toEqual({ code: "invalid", message: "不行" });
    await settle();
    waiting.shift()?.release();
    await expect(next).resolves.toEqual({ ok: true });
    expect(sent).toEqual(["answer:bad", "answer:compliant"]);
  });
});
