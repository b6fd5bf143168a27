// The task list and its filters. The backend filters (search by unit name or credit
// code, plan, category, status); this store keeps the query and the last answer.
import { defineStore } from "pinia";
import { api } from "../api";
import type { StatusFilter } from "../bindings/StatusFilter";
import type { TaskList } from "../bindings/TaskList";
import type { TaskQuery } from "../bindings/TaskQuery";
import { useSession } from "./session";

export const STATUS_CHIPS: { value: StatusFilter | null; label: string; key: keyof TaskList["counts"] | null }[] = [
  { value: null, label: "全部", key: null },
  { value: "todo", label: "待检查", key: "todo" },
  { value: "in_progress", label: "检查中", key: "in_progress" },
  { value: "awaiting_review", label: "待审核", key: "awaiting_review" },
  { value: "returned", label: "已退回", key: "returned" },
  { value: "approved", label: "已通过", key: "approved" },
];

/** Drops empty fields so the backend sees only real filters. */
export function cleanQuery(q: TaskQuery): TaskQuery {
  const out: TaskQuery = {};
  if (q.search && q.search.trim()) out.search = q.search.trim();
  if (q.status) out.status = q.status;
  if (q.plan_id) out.plan_id = q.plan_id;
  if (q.category) out.category = q.category;
  if (q.followup_only) out.followup_only = true;
  return out;
}

export const useTasks = defineStore("tasks", {
  state: () => ({
    query: {} as TaskQuery,
    list: null as TaskList | null,
    loading: false,
  }),
  getters: {
    /** Tasks grouped by plan, then by category, as the list shows them. */
    groups(s): { plan: string; category: string; tasks: TaskList["tasks"] }[] {
      const out: { plan: string; category: string; tasks: TaskList["tasks"] }[] = [];
      for (const t of s.list?.tasks ?? []) {
        let g = out.find((g) => g.plan === t.plan_title && g.category === t.category_name);
        if (!g) {
          g = { plan: t.plan_title, category: t.category_name, tasks: [] };
          out.push(g);
        }
        g.tasks.push(t);
      }
      return out;
    },
  },
  actions: {
    async refresh() {
      this.loading = true;
      try {
        this.list = await api.taskList(cleanQuery(this.query));
        useSession().setSync(this.list.sync);
      } finally {
        this.loading = false;
      }
    },
    async setQuery(patch: Partial<TaskQuery>) {
      this.query = { ...this.query, ...patch };
      await this.refresh();
    },
  },
});
