// Chinese labels of the platform's codes, once.
export const roleLabel: Record<string, string> = { admin: '管理员', team_lead: '组长', inspector: '检查人员' };
export const statusLabel: Record<string, string> = {
  assigned: '待检查',
  in_progress: '检查中',
  submitted: '待审核',
  unreachable: '无法联系',
  returned: '已退回',
  resubmitted: '待审核（再次提交）',
  approved: '已通过',
};
export const verdictLabel: Record<string, string> = { compliant: '符合', non_compliant: '不符合', not_applicable: '合理缺项' };
export const publicLabel: Record<string, string> = {
  no_problem: '抽查未发现问题',
  corrected: '发现问题已责令改正',
  penalised: '行政处罚',
  unreachable: '无法联系',
};
export const kindLabel: Record<string, string> = { national: '国家双随机', city: '市级双随机', followup: '回头看' };
export function fmtTime(t?: string | null): string {
  if (!t) return '—';
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
export function yuan(fen: number): string {
  return (fen / 100).toFixed(2);
}

/** How a unit key reads where a 统一社会信用代码 is printed: a unit without one (an
 *  unlicensed place or a person, keyed `名称|地址|证件号` with the ID masked) reads
 *  “无”, with the masked ID number if any. Mirrors jiandu_core::draw::credit_code_label. */
export function creditCodeLabel(key: string): string {
  const bar = key.lastIndexOf('|');
  if (bar < 0) return key;
  const id = key.slice(bar + 1);
  return id ? `无（证件号码 ${id}）` : '无';
}
