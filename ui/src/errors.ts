// Shows an AppError to the person: a toast for small things, a dialog when they must
// read a list (unanswered points, missing observations).
import { showDialog, showFailToast } from "vant";
import { toAppError } from "./api";

const DIALOG_CODES = new Set(["unanswered", "observation_missing", "outcome_inconsistent", "outcome_missing", "storage", "templates"]);

export function showError(e: unknown): void {
  const err = toAppError(e);
  if (DIALOG_CODES.has(err.code) || err.message.length > 40) {
    void showDialog({ title: "无法完成", message: err.message, confirmButtonText: "知道了" });
  } else {
    showFailToast({ message: err.message, duration: 2500 });
  }
}
