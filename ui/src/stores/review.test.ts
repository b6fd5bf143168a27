import { beforeEach, describe, expect, it, vi } from "vitest";
import { createPinia, setActivePinia } from "pinia";

const sent: string[] = [];
let answer: ((v: unknown) => void) | null = null;
let queue = [{ summary: { task_id: "t1" } }, { summary: { task_id: "t2" } }];
vi.mock("@tauri-apps/api/core", () => ({
  invoke: vi.fn((command: string, args?: { input: { task_id: string } }) => {
    if (command === "review_queue") return Promise.resolve(queue);
    sent.push(`${command}:${args?.input.task_id}`);
    return new Promise((resolve) => (answer = resolve));
  }),
}));

import { useReview } from "./review";

beforeEach(() => {
  setActivePinia(createPinia());
  sent.length = 0;
});

describe("a team lead's decision on its way to the platform", () => {
  it("is shown as sending until the platform answers, and a second tap sends nothing", async () => {
    const review = useReview();
    await review.load();
    expect(review.queue).toHaveLength(2);
    const input = { task_id: "t1", version: 3, approve: true, comment: "" };
    const first = review.decide(input);
    expect(review.isSending("t1")).toBe(true);
    expect(review.isSending("t2")).toBe(false);
    await expect(review.decide(input)).resolves.toBeNull();
    expect(sent).toEqual(["review:t1"]);
    queue = [{ summary: { task_id: "t2" } }]; // the platform approved t1
    answer?.({ summary: { status: "approved" } });
    await expect(first).resolves.toEqual({ summary: { status: "approved" } });
    expect(review.isSending("t1")).toBe(false);
    expect(review.queue.map((i) => i.summary.task_id)).toEqual(["t2"]);
  });
});
