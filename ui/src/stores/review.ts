// A team lead's requests to the platform: decisions on their way, and the archive
// copy of a document being fetched. Each waits for the platform (up to a minute on a
// weak signal) while the lead goes on working: they are kept here, not in the screen,
// so leaving the 组长审核 screen and coming back still shows a decision as 正在报送 (a
// second tap cannot send it twice), a decision that arrives meanwhile takes its item
// off the queue, and a document fetched meanwhile is shown there.
import { defineStore } from "pinia";
import { api } from "../api";
import { evidenceApi } from "../evidenceApi";
import type { DocKindCode } from "../bindings/DocKindCode";
import type { ReviewInput } from "../bindings/ReviewInput";
import type { ReviewItem } from "../bindings/ReviewItem";
import type { TaskDetail } from "../bindings/TaskDetail";

export const useReview = defineStore("review", {
  state: () => ({
    /** Inspections waiting for review, as last read from the device. */
    queue: [] as ReviewItem[],
    /** Task ids whose decision is being sent. */
    sending: [] as string[],
    /** The archive copy being fetched ("taskId/kind"). */
    opening: null as string | null,
    /** The archive copy fetched, until it is closed. */
    preview: null as { title: string; data: ArrayBuffer } | null,
  }),
  getters: {
    isSending: (s) => (taskId: string) => s.sending.includes(taskId),
  },
  actions: {
    async load() {
      this.queue = await api.reviewQueue();
    },
    /** Sends one decision; refuses a second while the first is on its way. Once the
     * platform has answered, the queue is read again. */
    async decide(input: ReviewInput): Promise<TaskDetail | null> {
      if (this.sending.includes(input.task_id)) return null;
      this.sending.push(input.task_id);
      try {
        const done = await api.review(input);
        await this.load().catch(() => {});
        return done;
      } finally {
        this.sending = this.sending.filter((t) => t !== input.task_id);
      }
    },
    /** Fetches the platform's archive copy of a document (one at a time). */
    async openDocument(taskId: string, kind: DocKindCode, title: string): Promise<void> {
      if (this.opening) return;
      this.opening = `${taskId}/${kind}`;
      try {
        this.preview = { title, data: await evidenceApi.archiveDocument(taskId, kind) };
      } finally {
        this.opening = null;
      }
    },
  },
});
