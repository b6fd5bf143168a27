import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';
import { loadSession, session } from './session';

/** The console's pages: who may open each (roles), and its menu title. */
export const pages: { path: string; title: string; roles: string[]; component: () => Promise<unknown> }[] = [
  { path: '/', title: '首页', roles: ['admin', 'team_lead'], component: () => import('./views/Dashboard.vue') },
  { path: '/registry', title: '名录库', roles: ['admin', 'team_lead'], component: () => import('./views/Registry.vue') },
  { path: '/people', title: '人员与设备', roles: ['admin'], component: () => import('./views/People.vue') },
  { path: '/plans', title: '抽查计划', roles: ['admin', 'team_lead'], component: () => import('./views/Plans.vue') },
  { path: '/draws', title: '双随机抽取', roles: ['admin'], component: () => import('./views/Draws.vue') },
  { path: '/tasks', title: '任务', roles: ['admin', 'team_lead', 'inspector'], component: () => import('./views/Tasks.vue') },
  { path: '/review', title: '组长审核', roles: ['admin', 'team_lead'], component: () => import('./views/Review.vue') },
  { path: '/reports', title: '汇总表', roles: ['admin', 'team_lead'], component: () => import('./views/Reports.vue') },
  { path: '/audit', title: '审计日志', roles: ['admin'], component: () => import('./views/Audit.vue') },
];

const routes: RouteRecordRaw[] = [
  { path: '/login', component: () => import('./views/Login.vue'), meta: { bare: true } },
  { path: '/public', component: () => import('./views/PublicResults.vue'), meta: { bare: true, public: true } },
  { path: '/public/draws/:id', component: () => import('./views/PublicDraw.vue'), meta: { bare: true, public: true } },
  ...pages.map((p) => ({ path: p.path, component: p.component as never, meta: { roles: p.roles, title: p.title } })),
  { path: '/:rest(.*)*', redirect: '/' },
];

export const router = createRouter({ history: createWebHistory(), routes });

router.beforeEach(async (to) => {
  if (to.meta.public) return true;
  if (!session.checked) await loadSession();
  if (to.path === '/login') return session.view ? home() : true;
  if (!session.view) return '/login';
  const roles = to.meta.roles as string[] | undefined;
  if (roles && !roles.includes(session.view.user.role)) return home();
  return true;
});

/** The first page the signed-in user may open. */
export function home(): string {
  const r = session.view?.user.role ?? '';
  return pages.find((p) => p.roles.includes(r))?.path ?? '/login';
}
