import { createRouter, createWebHashHistory } from "vue-router";
import { useSession } from "./stores/session";

// Hash history: the app is served from files (custom protocol), not a web server.
export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: "/", redirect: "/tasks" },
    { path: "/setup", component: () => import("./views/SetupView.vue"), meta: { public: true } },
    { path: "/pin", component: () => import("./views/PinView.vue"), meta: { public: true } },
    { path: "/tasks", component: () => import("./views/TaskListView.vue") },
    { path: "/tasks/:id", component: () => import("./views/TaskDetailView.vue"), props: true },
    { path: "/tasks/:id/credentials", component: () => import("./views/CredentialsView.vue"), props: true },
    { path: "/tasks/:id/checklist", component: () => import("./views/ChecklistView.vue"), props: true },
    { path: "/tasks/:id/outcome", component: () => import("./views/OutcomeView.vue"), props: true },
    { path: "/tasks/:id/opinion", component: () => import("./views/OpinionEditView.vue"), props: true },
    { path: "/tasks/:id/record", component: () => import("./views/RecordInfoView.vue"), props: true },
    { path: "/tasks/:id/documents", component: () => import("./views/DocumentsView.vue"), props: true },
    { path: "/tasks/:id/signatures", component: () => import("./views/SignatureView.vue"), props: true },
    { path: "/sync", component: () => import("./views/SyncView.vue") },
    { path: "/review", component: () => import("./views/ReviewView.vue") },
  ],
});

router.beforeEach(async (to) => {
  const session = useSession();
  if (!session.loaded) {
    try {
      await session.load();
    } catch {
      // No backend (plain browser): stay on the setup screen, which says so.
    }
  }
  const state = session.lock?.state ?? "open";
  if (!session.profile || state === "signed_out") {
    return to.path === "/setup" ? true : "/setup";
  }
  // Signed in: a PIN to set or to enter comes before any data.
  if (state === "set_pin" || state === "locked") {
    return to.path === "/pin" ? true : { path: "/pin", query: { next: to.path === "/setup" ? "/tasks" : to.fullPath } };
  }
  if (to.path === "/setup" || to.path === "/pin") return "/tasks";
  return true;
});

// Every screen change refreshes the offline badge and the 待上传 count.
router.afterEach(() => {
  const session = useSession();
  if (session.open) void session.refreshSync().catch(() => {});
});
