// Quick screenshots of every console page against a running platform (dev aid):
//   BASE=http://127.0.0.1:18099 OUT=/tmp/shots node e2e/shots.mjs
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const base = process.env.BASE ?? 'http://127.0.0.1:8080';
const out = process.env.OUT ?? '/tmp/console-shots';
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
page.on('pageerror', (e) => console.error('page error:', e.message));
await page.goto(`${base}/login`);
await page.fill('input[name=username]', process.env.USER_NAME ?? 'admin');
await page.fill('input[name=password]', 'jiandu-demo-1');
await page.click('button[type=submit]');
await page.waitForURL((u) => !u.pathname.startsWith('/login'));
for (const p of (process.env.PAGES ?? '/,/registry,/people,/plans,/draws,/tasks,/review,/reports,/audit,/public/').split(',')) {
  await page.goto(`${base}${p}`);
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(400);
  const name = p === '/' ? 'dashboard' : p.replaceAll('/', '_').replace(/^_|_$/g, '');
  await page.screenshot({ path: `${out}/${name}.png`, fullPage: false });
  console.log('shot', name);
}
await browser.close();
