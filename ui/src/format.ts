// Formatting shown to people: dates, days left, money. Pure functions (Vitest).

/** "2024-06-10" → "6月10日"; with year when it is not `thisYear`. */
export function formatDate(iso: string | null | undefined, thisYear?: number): string {
  if (!iso) return "—";
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  if (!m) return iso;
  const [, y, mo, d] = m;
  const md = `${Number(mo)}月${Number(d)}日`;
  return thisYear !== undefined && Number(y) === thisYear ? md : `${y}年${md}`;
}

/** An RFC 3339 instant in China Standard Time: "2024-06-01 10:00". */
export function formatInstant(iso: string | null | undefined): string {
  if (!iso) return "从未";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const cst = new Date(t + 8 * 3600 * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${cst.getUTCFullYear()}-${p(cst.getUTCMonth() + 1)}-${p(cst.getUTCDate())} ${p(
    cst.getUTCHours(),
  )}:${p(cst.getUTCMinutes())}`;
}

/** Days to the deadline as a person says it. */
export function daysLeftLabel(days: number | null | undefined): string {
  if (days === null || days === undefined) return "无期限";
  if (days < 0) return `已逾期${-days}天`;
  if (days === 0) return "今天截止";
  return `剩余${days}天`;
}

/** Whether the inspectors still owe work on a task (so its deadline still matters):
 *  待检查, 检查中, 已退回. Submitted, approved or unreachable work is out of their hands. */
export function workOpen(status: string): boolean {
  return status === "assigned" || status === "in_progress" || status === "returned";
}

/** Colour of the days-left tag: overdue and the last three days stand out. */
export function daysLeftType(days: number | null | undefined): "danger" | "warning" | "default" {
  if (days === null || days === undefined) return "default";
  if (days < 0) return "danger";
  if (days <= 3) return "warning";
  return "default";
}

/** Integer fen → 元 with two decimals and thousands separators: 500050 → "5,000.50". */
export function fenToYuan(fen: number): string {
  const neg = fen < 0;
  const abs = Math.abs(Math.trunc(fen));
  const yuan = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const cents = String(abs % 100).padStart(2, "0");
  return `${neg ? "-" : ""}${yuan}.${cents}`;
}

/**
 * Integer fen → 万元 exactly as the summary tables show it (jiandu-core's
 * Fen::wan_yuan): at least four decimals, more only when fen demand it, no rounding.
 */
export function fenToWan(fen: number): string {
  const neg = fen < 0;
  const abs = Math.abs(Math.trunc(fen));
  const int = Math.floor(abs / 1_000_000);
  let digits = String(abs % 1_000_000).padStart(6, "0");
  while (digits.length > 4 && digits.endsWith("0")) digits = digits.slice(0, -1);
  return `${neg ? "-" : ""}${int}.${digits}`;
}

/** Checks a 元 amount as typed, before it is sent (the backend decides for real). */
export function yuanInputError(text: string): string | null {
  const t = text.trim().replace(/[,，]/g, "");
  if (t === "") return null;
  if (!/^\d+(\.\d{1,2})?$/.test(t)) return "请输入以元为单位的金额，最多两位小数";
  return null;
}

/** Bytes as a person reads them, in binary units: 0 → "0 B", 1536 → "1.5 KB", 3 MiB → "3.0 MB". */
export function formatBytes(bytes: number | null | undefined): string {
  const n = Math.max(0, Math.trunc(bytes ?? 0));
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/**
 * Upload progress in whole percent for the progress bar: done / (done + left),
 * never 100 while anything is left, 100 when nothing is (or was) to send.
 */
export function uploadPercent(done: number, left: number): number {
  const d = Math.max(0, done);
  const l = Math.max(0, left);
  if (l === 0) return 100;
  const p = Math.floor((d * 100) / (d + l));
  return Math.min(99, p);
}

/** The sync panel's one-line summary of what is still on this device. */
export function pendingSummary(changes: number, photos: number, bytes: number): string {
  if (changes === 0 && photos === 0) return "全部已上传";
  const parts: string[] = [];
  if (changes > 0) parts.push(`${changes} 项修改`);
  if (photos > 0) parts.push(`${photos} 张照片（${formatBytes(bytes)}）`);
  return `待上传：${parts.join("，")}`;
}

/** How a unit key reads where a 统一社会信用代码 is printed: a unit without one (an
 *  unlicensed place or a person, keyed `名称|地址|证件号` with the ID masked) reads
 *  “无”, with the masked ID number if any. Mirrors jiandu_core::draw::credit_code_label. */
export function creditCodeLabel(key: string): string {
  const bar = key.lastIndexOf("|");
  if (bar < 0) return key;
  const id = key.slice(bar + 1);
  return id ? `无（证件号码 ${id}）` : "无";
}
