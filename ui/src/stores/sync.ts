// Sync as the screens see it: the 同步 panel's figures, the live progress of a
// running sync (from the backend's `sync` events), the rejected edits, and a counter
// that ticks when a sync brought changes (the task list reloads on it).
import { defineStore } from "pinia";
import { api } from "../api";
import type { ConflictView } from "../bindings/ConflictView";
import type { SyncEventView } from "../bindings/SyncEventView";
import type { SyncStatus } from "../bindings/SyncStatus";
import { uploadPercent } from "../format";
import { useSession } from "./session";

export const PHASE_LABELS: Record<string, string> = {
  push: "正在上传修改",
  photos: "正在上传照片",
  leases: "正在领取文号",
  pull: "正在接收任务和审核结果",
  done: "正在完成",
};

export const useSync = defineStore("sync", {
  state: () => ({
    status: null as SyncStatus | null,
    conflicts: [] as ConflictView[],
    /** The last event of the running (or last) sync. */
    last: null as SyncEventView | null,
    /** Photo bytes already known to be left when the running sync started. */
    startBytesLeft: 0,
    /** Ticks whenever a finished sync brought changes. */
    pulledTick: 0,
  }),
  getters: {
    running: (s) => s.status?.running ?? false,
    phaseLabel: (s) =>
      s.last && s.last.event === "progress" && s.last.phase ? (PHASE_LABELS[s.last.phase] ?? "正在同步") : "",
    /** Percent of photo bytes sent in this sync. */
    photoPercent: (s) => uploadPercent(s.last?.bytes_done ?? s.status?.bytes_done ?? 0, s.last?.bytes_left ?? s.status?.bytes_left ?? 0),
  },
  actions: {
    async refresh() {
      const [status, conflicts] = await Promise.all([api.syncStatus(), api.conflicts(false)]);
      this.status = status;
      this.conflicts = conflicts;
    },
    /** Applies one backend event to what the screens show. */
    apply(e: SyncEventView) {
      this.last = e;
      if (this.status) {
        if (e.event === "started") {
          this.status.running = true;
          this.startBytesLeft = this.status.bytes_left;
        } else if (e.event === "progress") {
          this.status.pending_changes = e.items_left;
          this.status.photos_left = e.photos_left;
          this.status.bytes_left = e.bytes_left;
          this.status.bytes_done = e.bytes_done;
        } else {
          this.status.running = false;
          if (e.event === "finished") {
            this.status.online = true;
            this.status.last_error = null;
            this.status.conflicts = e.conflicts;
          } else {
            this.status.last_error = e.message;
          }
        }
      }
      if (e.event === "finished" && e.changes_pulled > 0) this.pulledTick += 1;
      if (e.event === "lost") return; // signed out: App.vue goes to the sign-in screen
      if (e.event === "finished" || e.event === "failed" || e.event === "revoked") {
        // The badge (online, last sync) and the panel read the settled state.
        void useSession().refreshSync().catch(() => {});
        void this.refresh().catch(() => {});
      }
    },
    async syncNow() {
      await api.syncNow();
      if (this.status) this.status.running = true;
    },
    async resolve(id: number) {
      await api.resolveConflict(id);
      this.conflicts = this.conflicts.filter((c) => c.id !== id);
      if (this.status) this.status.conflicts = this.conflicts.length;
    },
  },
});
