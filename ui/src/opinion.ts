// 监督意见 and 笔录信息: the checks the screens make before saving (the backend makes
// the same ones; these name the field at fault at once), and the date picker's values.
import type { OpinionInput } from "./bindings/OpinionInput";
import type { RecordDetailsInput } from "./bindings/RecordDetailsInput";

/** 一, 二, … 九十九: the numbers the 意见书 prints before each problem. */
export function cnNumber(n: number): string {
  const d = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
  if (n >= 1 && n <= 9) return d[n];
  if (n === 10) return "十";
  if (n > 10 && n < 20) return `十${d[n % 10]}`;
  if (n >= 20 && n < 100) return `${d[Math.floor(n / 10)]}十${n % 10 ? d[n % 10] : ""}`;
  return String(n);
}

export interface OpinionErrors {
  /** Per problem, by index: the problem's message or "". */
  problems: string[];
  deadline: string;
  requirements: string;
}

/** What keeps an opinion from being saved; every message "" when it may be. */
export function opinionErrors(o: OpinionInput, inspectedOn: string | null): OpinionErrors {
  const problems = o.problems.map((p, k) => (p.text.trim() ? "" : `第 ${k + 1} 条问题的内容不能为空`));
  let deadline = "";
  let requirements = "";
  if (o.problems.length > 0) {
    if (!o.deadline) deadline = "请选择改正期限";
    else if (inspectedOn && o.deadline < inspectedOn) deadline = `改正期限不能早于检查日期（${inspectedOn}）`;
    if (!o.requirements.trim()) requirements = "请填写改正要求";
  }
  return { problems, deadline, requirements };
}

export function hasErrors(e: OpinionErrors): boolean {
  return !!(e.deadline || e.requirements || e.problems.some((p) => p));
}

/** "2025-06-27" → ["2025", "06", "27"] (van-date-picker's value). */
export function toPicker(date: string | null, fallback: Date): string[] {
  if (date && /^\d{4}-\d{2}-\d{2}$/.test(date)) return date.split("-");
  const pad = (n: number) => String(n).padStart(2, "0");
  return [String(fallback.getFullYear()), pad(fallback.getMonth() + 1), pad(fallback.getDate())];
}

/** ["2025", "06", "27"] → "2025-06-27". */
export function fromPicker(v: string[]): string {
  return `${v[0]}-${v[1].padStart(2, "0")}-${v[2].padStart(2, "0")}`;
}

/** "2025-06-27" as a local Date (the picker's min date). */
export function dateOf(date: string): Date {
  const [y, m, d] = date.split("-").map(Number);
  return new Date(y, m - 1, d);
}

export interface RecordErrors {
  recorder: string;
  recusal: string;
  reason: string;
  /** Per 在场人: [name message, post message]. */
  present: [string, string][];
}

/** What keeps the 笔录信息 from being saved. `recusal` is null until answered. */
export function recordErrors(r: Omit<RecordDetailsInput, "recusal_requested"> & { recusal_requested: boolean | null }): RecordErrors {
  return {
    recorder: r.recorder ? "" : "请选择记录人",
    recusal: r.recusal_requested === null ? "请选择当事人是否申请回避" : "",
    reason: r.recusal_requested === true && !r.recusal_reason.trim() ? "当事人申请回避时，请填写申请理由" : "",
    present: r.present.map((p, k) => [
      p.name.trim() ? "" : `第 ${k + 1} 位在场人的姓名不能为空`,
      p.post.trim() ? "" : `第 ${k + 1} 位在场人的职务不能为空`,
    ]),
  };
}

export function hasRecordErrors(e: RecordErrors): boolean {
  return !!(e.recorder || e.recusal || e.reason || e.present.some(([a, b]) => a || b));
}
