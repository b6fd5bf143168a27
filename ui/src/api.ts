// The ONE way the UI talks to the backend: typed wrappers over Tauri's invoke, one
// per command of src-tauri (each a one-line adapter over crates/app). Types come from
// ui/src/bindings, generated from the Rust types, so the two sides cannot drift.
// Every failure arrives as an AppError {code, message}: screens branch on `code` and
// show `message` (Chinese) to the person.
//
// The backend runs every command off the main thread and several at once (a sync or
// a team lead's decision waiting on a slow platform holds nothing up). Edits are
// therefore sent one after another, in the order they were made (`inOrder`): a tap
// and the observation typed just before it, or two quick taps on one point, reach
// the device's store in the order the person made them, so the last one wins.
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { LockView } from "./bindings/LockView";
import type { AnswerInput } from "./bindings/AnswerInput";
import type { AppError } from "./bindings/AppError";
import type { ChecklistView } from "./bindings/ChecklistView";
import type { ConflictView } from "./bindings/ConflictView";
import type { DiagnosticsView } from "./bindings/DiagnosticsView";
import type { ObservationInput } from "./bindings/ObservationInput";
import type { OpinionInput } from "./bindings/OpinionInput";
import type { OpinionView } from "./bindings/OpinionView";
import type { OutcomeInput } from "./bindings/OutcomeInput";
import type { RecordDetailsInput } from "./bindings/RecordDetailsInput";
import type { RecordDetailsView } from "./bindings/RecordDetailsView";
import type { PointSaved } from "./bindings/PointSaved";
import type { Profile } from "./bindings/Profile";
import type { ReviewInput } from "./bindings/ReviewInput";
import type { ReviewItem } from "./bindings/ReviewItem";
import type { ShowCredentialsInput } from "./bindings/ShowCredentialsInput";
import type { SignInInput } from "./bindings/SignInInput";
import type { Startup } from "./bindings/Startup";
import type { SyncBadge } from "./bindings/SyncBadge";
import type { SyncEventView } from "./bindings/SyncEventView";
import type { SyncStatus } from "./bindings/SyncStatus";
import type { TaskDetail } from "./bindings/TaskDetail";
import type { TaskList } from "./bindings/TaskList";
import type { TaskQuery } from "./bindings/TaskQuery";

export type { AppError };

/** Turns anything thrown by invoke into an AppError. */
export function toAppError(e: unknown): AppError {
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    const { code, message } = e as { code: unknown; message: unknown };
    return { code: String(code), message: String(message) };
  }
  if (typeof e === "string") return { code: "internal", message: e };
  // Outside the Tauri window (a plain browser) there is no backend at all.
  return { code: "no_backend", message: "无法连接本机服务，请在监督应用中打开" };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw toAppError(e);
  }
}

let lastEdit: Promise<unknown> = Promise.resolve();

/** Runs `send` after every edit sent before it has been answered (or has failed). */
export function inOrder<T>(send: () => Promise<T>): Promise<T> {
  const next = lastEdit.then(send, send);
  lastEdit = next.catch(() => undefined);
  return next;
}

/** An edit: sent in order with the other edits. */
function edit<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  return inOrder(() => call<T>(command, args));
}

export const api = {
  startup: () => call<Startup>("startup"),
  signIn: (input: SignInInput, caCert: string | null = null) =>
    call<Profile>("sign_in", { input, caCert }),
  signOut: () => call<null>("sign_out"),
  /** 应用锁: where it stands, set the PIN (first sign-in), unlock, lock now, idle time. */
  lockState: () => call<LockView>("lock_state"),
  setPin: (pin: string) => call<LockView>("set_pin", { pin }),
  unlock: (pin: string) => call<LockView>("unlock", { pin }),
  changePin: (old: string, newPin: string, again: string) =>
    call<LockView>("change_pin", { old, new: newPin, again }),
  lockNow: () => call<LockView>("lock_now"),
  setIdleMinutes: (minutes: number) => call<LockView>("set_idle_minutes", { minutes }),
  syncBadge: () => call<SyncBadge>("sync_badge"),
  taskList: (query: TaskQuery) => call<TaskList>("task_list", { query }),
  taskDetail: (taskId: string) => call<TaskDetail>("task_detail", { taskId }),
  showCredentials: (input: ShowCredentialsInput) =>
    edit<TaskDetail>("show_credentials", { input }),
  checklist: (taskId: string) => call<ChecklistView>("checklist", { taskId }),
  answer: (input: AnswerInput) => edit<PointSaved>("answer", { input }),
  setObservation: (input: ObservationInput) => edit<PointSaved>("set_observation", { input }),
  setOutcome: (input: OutcomeInput) => edit<TaskDetail>("set_outcome", { input }),
  /** 监督意见: the confirmed one, else the draft from the findings. */
  opinion: (taskId: string) => call<OpinionView>("opinion", { taskId }),
  /** A fresh draft from the findings as they are now (not saved). */
  opinionDraft: (taskId: string) => call<OpinionView>("opinion_draft", { taskId }),
  saveOpinion: (input: OpinionInput) => edit<OpinionView>("save_opinion", { input }),
  /** 笔录信息: 记录人, 回避, 在场人. */
  recordDetails: (taskId: string) => call<RecordDetailsView>("record_details", { taskId }),
  saveRecordDetails: (input: RecordDetailsInput) =>
    edit<RecordDetailsView>("save_record_details", { input }),
  submit: (taskId: string) => edit<TaskDetail>("submit", { taskId }),
  markUnreachable: (taskId: string, reason: string) =>
    edit<TaskDetail>("mark_unreachable", { taskId, reason }),
  reviewQueue: () => call<ReviewItem[]>("review_queue"),
  review: (input: ReviewInput) => call<TaskDetail>("review", { input }),
  syncNow: () => call<null>("sync_now"),
  setOnline: (online: boolean) => call<null>("set_online", { online }),
  syncStatus: () => call<SyncStatus>("sync_status"),
  conflicts: (all: boolean) => call<ConflictView[]>("conflicts", { all }),
  resolveConflict: (id: number) => edit<null>("resolve_conflict", { id }),
  /** 导出诊断信息 into Downloads: one file for the bureau's IT, nothing secret in it. */
  exportDiagnostics: () => call<DiagnosticsView>("export_diagnostics"),
  /** Sync progress from the backend (the shell's `sync` event); returns the unlisten. */
  onSyncEvent: (handler: (e: SyncEventView) => void) =>
    listen<SyncEventView>("sync", (e) => handler(e.payload)),
};

export type Api = typeof api;
