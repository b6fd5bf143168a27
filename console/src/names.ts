// Names of the platform's codes of categories, services and checklists, loaded once
// from GET /categories and GET /plans/{id}: pages show 诊所, not `clinic`.
import { reactive } from 'vue';
import { get, type Schemas } from './api/client';

const state = reactive({
  categories: {} as Record<string, string>,
  services: {} as Record<string, string>,
  /** plan id → checklist code → 附表 name, e.g. 附件1 附表1. */
  checklists: {} as Record<string, Record<string, string>>,
});
let loading: Promise<void> | null = null;

/** Loads the catalogue (once; again after `reloadNames`). */
export function loadNames(): Promise<void> {
  loading ??= get<Schemas['Catalogue']>('/categories')
    .then((c) => {
      for (const x of c.categories) state.categories[x.code] = x.name;
      for (const x of c.services ?? []) state.services[x.code] = x.name;
    })
    .catch(() => {
      loading = null; // shown as codes; tried again next time
    });
  return loading;
}
/** Forgets the catalogue (after a plan that declares categories was published). */
export function reloadNames(): Promise<void> {
  loading = null;
  return loadNames();
}
/** Loads the checklist names of one plan (newest published version). */
export async function loadChecklists(plan: string): Promise<void> {
  if (!plan || state.checklists[plan]) return;
  try {
    const p = await get<Schemas['Plan']>(`/plans/${encodeURIComponent(plan)}`);
    state.checklists[plan] = Object.fromEntries(p.checklists.map((c) => [c.code, c.name]));
  } catch {
    /* shown as codes */
  }
}
export const categoryName = (code: string) => state.categories[code] ?? code;
export const serviceName = (code: string) => state.services[code] ?? code;
export const checklistName = (plan: string, code: string) => state.checklists[plan]?.[code] ?? code;
