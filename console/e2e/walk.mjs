// The console's walk in a real browser (Debian's chromium driven by playwright-core),
// against a real jiandu-server with the demo data (scripts/console-e2e.sh starts it):
//   the administrator signs in → imports an .xlsx registry with one bad row (sees the
//   row's problem, nothing written) → the fixed file → runs a draw → re-assigns one
//   inspector → a tablet (the real sync engine, console_tablet) submits an inspection
//   with a real JPEG → the team lead approves it in the console → the 汇总表 shows it
//   and its XLSX downloads → the public page shows the unit under its category
//   without signing in.
// Screenshots of every page go to $OUT (look at them).
// Env: BASE (http://127.0.0.1:PORT), OUT, TABLET (console_tablet binary), FILES (dir).
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const base = process.env.BASE;
const out = process.env.OUT;
const tablet = process.env.TABLET;
const files = process.env.FILES;
const password = 'jiandu-demo-1';
mkdirSync(out, { recursive: true });
const started = Date.now();
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
async function context() {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', acceptDownloads: true });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => {
    console.log('FAIL page error:', e.message);
    failures++;
  });
  return page;
}
async function shot(page, name) {
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
}
async function signIn(page, username) {
  await page.goto(`${base}/login`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
}
/** A JSON API answer, with the page's session. */
async function api(page, path) {
  return page.evaluate(async (p) => (await fetch(`/api/v1${p}`)).json(), path);
}
async function select(page, placeholder, text) {
  await page.click(`.el-select:has(input[placeholder="${placeholder}"]), .el-select:has(.el-select__placeholder:has-text("${placeholder}"))`);
  await page.click(`.el-select-dropdown__item:visible:has-text("${text}")`);
}

try {
  // 1. The administrator signs in.
  const admin = await context();
  await admin.goto(`${base}/login`);
  await shot(admin, '01-login');
  // A wrong password reads as such.
  await admin.fill('input[name=username]', 'admin');
  await admin.fill('input[name=password]', 'wrong-password');
  await admin.click('button[type=submit]');
  await admin.waitForSelector('text=用户名或密码错误');
  check(true, 'a wrong password reads 用户名或密码错误');
  await signIn(admin, 'admin');
  await admin.waitForSelector('text=抽取');
  await shot(admin, '02-dashboard');
  check(await admin.isVisible('canvas'), 'the dashboard draws its progress chart');

  // 2. Registry: the bad file shows its row's problem and writes nothing.
  execFileSync(tablet, ['registry', files]);
  const before = (await api(admin, '/institutions')).length;
  await admin.goto(`${base}/registry`);
  await admin.setInputFiles('input[type=file]', join(files, 'registry-bad.xlsx'));
  await admin.waitForSelector('text=未写入任何数据');
  const problems = await admin.textContent('.problems');
  check(problems.includes('第 5 行'), `the problem names the spreadsheet's row 5: ${problems.trim()}`);
  check(await admin.isDisabled('button:has-text("确认导入")'), 'import is disabled while there is a problem');
  await shot(admin, '03-registry-bad-file');
  check((await api(admin, '/institutions')).length === before, 'nothing was written');
  await admin.setInputFiles('input[type=file]', join(files, 'registry-good.xlsx'));
  await admin.waitForSelector('text=没有发现问题');
  await admin.click('button:has-text("确认导入")');
  await admin.waitForSelector('text=新增单位 5');
  check((await api(admin, '/institutions')).length === before + 5, 'the fixed file adds its 5 units');
  await admin.fill('input[placeholder="搜索单位名称或统一社会信用代码"]', '控制台导入');
  await shot(admin, '04-registry-imported');

  // 3. A draw of a published plan not drawn yet.
  const drawnPlans = new Set((await api(admin, '/draws')).map((d) => d.plan_id));
  const plans = await api(admin, '/plans');
  const plan = plans.find((p) => p.state === 'published' && p.id.startsWith('shanxi') && !drawnPlans.has(p.id));
  check(!!plan, `an undrawn published plan: ${plan?.id}`);
  await admin.goto(`${base}/draws`);
  await select(admin, '选择已发布的计划', `（${plan.id}）`);
  await admin.waitForSelector('text=名录库单位数');
  check(await admin.isVisible('text=国家双随机应抽'), 'the population per row and the counts the ratios give are shown');
  await admin.fill('input[placeholder="种子（如公开摇号的号码）"]', '控制台演练 07 12 33');
  check(await admin.isDisabled('button:has-text("正式抽取")'), 'no real draw before the inputs are frozen');
  await admin.click('button:has-text("试抽（记入审计日志）")');
  await admin.waitForSelector('text=试抽结果（未记录）');
  await admin.click('button:has-text("冻结抽取输入")');
  await admin.click('.el-message-box button:has-text("冻结")');
  await admin.waitForSelector('text=输入哈希');
  await shot(admin, '05a-draw-frozen');
  await admin.click('button:has-text("正式抽取")');
  await admin.click('.el-message-box button:has-text("抽取")');
  await admin.waitForSelector('text=人员调整：已用 0');
  await shot(admin, '05-draw');
  {
    // 类别 is the 2nd column of the per-row counts and the 3rd of the drawn list.
    const cells = [
      ...(await admin.locator('.el-card:has-text("抽取结果") .el-table >> nth=0 >> .el-table__body td:nth-child(2)').allTextContents()),
      ...(await admin.locator('.el-card:has-text("抽取结果") .el-table >> nth=1 >> .el-table__body td:nth-child(3)').allTextContents()),
    ];
    check(cells.length > 0 && cells.every((c) => /[\u4e00-\u9fff]/.test(c) && !/^[a-z_]+$/.test(c.trim())), `the drawn list names categories (${[...new Set(cells)].slice(0, 3).join('、')}…), not codes`);
  }
  const draws = await api(admin, '/draws');
  const draw = draws.find((d) => d.plan_id === plan.id);
  check(!!draw, 'the draw is recorded');
  const trail = (await api(admin, '/audit?action=draw.&limit=1000')).map((e) => e.action);
  check(
    trail.includes('draw.dry_run') && trail.includes('draw.freeze') && trail.includes('draw.save'),
    `the dry run, the freeze and the draw are in the audit log: ${[...new Set(trail)].join(', ')}`,
  );

  // 4. Re-assign one inspector (to one of the same district, not on the task).
  const view = await api(admin, `/draws/${draw.id}`);
  const users = await api(admin, '/users');
  let pick = null;
  for (const t of view.tasks) {
    const on = new Set(t.inspectors.map((i) => i.id));
    const to = users.find((u) => u.role === 'inspector' && !u.disabled && !on.has(u.id) && u.district === t.institution.district);
    if (to) {
      pick = { t, to };
      break;
    }
  }
  const row = admin.locator('.el-table__row', { hasText: pick.t.institution.credit_code });
  await row.locator('button:has-text("调整人员")').click();
  await admin.click('.el-dialog .el-select:has(.el-select__placeholder:has-text("选择检查人员"))');
  await admin.click(`.el-select-dropdown__item:visible:has-text("${pick.to.badge_no}")`);
  await admin.fill('.el-dialog textarea', '原检查人员需回避（控制台演练）');
  await shot(admin, '06-reassign-dialog');
  await admin.click('.el-dialog button:has-text("确定调整")');
  await admin.waitForSelector('text=人员调整：已用 1');
  check(true, 're-assigned: 人员调整 已用 1');
  await admin.click('button:has-text("校验抽取")');
  await admin.waitForSelector('.el-alert--success');
  await shot(admin, '07-draw-reassigned-verified');
  const [taskList] = await Promise.all([admin.waitForEvent('download'), admin.click('button:has-text("下载任务清单")')]);
  await taskList.saveAs(join(files, 'tasks.xlsx'));
  check(readFileSync(join(files, 'tasks.xlsx')).subarray(0, 2).toString() === 'PK', 'the task list downloads as XLSX');

  // 5. A tablet submits an inspection with a real JPEG (drawn in the browser).
  const jpeg = await admin.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 1200;
    c.height = 900;
    const g = c.getContext('2d');
    g.fillStyle = '#d8e4f0';
    g.fillRect(0, 0, 1200, 900);
    g.fillStyle = '#8a2b2b';
    g.font = '64px sans-serif';
    g.fillText('消毒记录 现场照片', 200, 450);
    return c.toDataURL('image/jpeg', 0.9).split(',')[1];
  });
  writeFileSync(join(files, 'photo.jpg'), Buffer.from(jpeg, 'base64'));
  const submitted = JSON.parse(execFileSync(tablet, ['inspect', base, 'zhangwei', password, join(files, 'photo.jpg')], { encoding: 'utf8' }).trim().split('\n').pop());
  check(!!submitted.task_id, `the tablet submitted ${submitted.institution} (${submitted.plan_id})`);

  // 6. The team lead approves it in the console.
  // Every count of every 汇总表 of the plan, summed.
  const summaryOf = async (page) => {
    const p = await api(page, `/plans/${submitted.plan_id}`);
    let n = 0;
    for (const t of p.summaries) {
      const s = await api(page, `/reports/summary?plan=${submitted.plan_id}&table=${t.code}`);
      n += s.rows.flatMap((r) => r.cells).reduce((k, c) => k + (c.type === 'count' ? c.value : 0), 0);
    }
    return n;
  };
  const sumBefore = await summaryOf(admin);
  const lead = await context();
  await signIn(lead, 'lina');
  await lead.goto(`${base}/review`);
  await lead.click(`.qitem:has-text("${submitted.institution}")`);
  await lead.waitForSelector('figure img');
  await lead.waitForSelector('canvas.pdf-page');
  check(await lead.isVisible('text=消毒记录不全'), 'the lead reads the observation');
  {
    const sha = createHash('sha256').update(readFileSync(join(files, 'photo.jpg'))).digest('hex');
    check(await lead.isVisible(`figcaption >> text=${sha}`), `the photo's SHA-256 is shown under it (${sha.slice(0, 12)}…)`);
    check(await lead.isVisible('figcaption >> text=拍摄于'), "the photo's time is shown under it");
  }
  await shot(lead, '08-review');
  await lead.click('button:has-text("审核通过")');
  await lead.waitForSelector('text=已审核通过');
  check(true, 'the lead approved it');

  // 7. The 汇总表 shows it; its XLSX downloads.
  const sumAfter = await summaryOf(admin);
  check(sumAfter > sumBefore, `the 汇总表 count it (sum of counts ${sumBefore} → ${sumAfter})`);
  await admin.goto(`${base}/reports`);
  await select(admin, '选择计划', `（${submitted.plan_id}）`);
  await admin.waitForSelector('table.print tbody tr');
  await shot(admin, '09-summary-table');
  const [download] = await Promise.all([admin.waitForEvent('download'), admin.click('button:has-text("下载 XLSX")')]);
  const xlsx = join(files, 'summary.xlsx');
  await download.saveAs(xlsx);
  const head = readFileSync(xlsx).subarray(0, 2).toString();
  check(head === 'PK', `the XLSX downloads (${readFileSync(xlsx).length} bytes)`);

  // The unit's history in the registry names the approved inspection.
  await admin.goto(`${base}/registry`);
  await admin.fill('input[placeholder="搜索单位名称或统一社会信用代码"]', submitted.institution);
  await admin.click(`.el-table__row:has-text("${submitted.institution}")`);
  await admin.waitForSelector('.el-dialog >> text=发现问题已责令改正');
  check(true, "the registry shows the unit's history with its approved result");
  await shot(admin, '09b-registry-history');

  // The other pages, for the screenshots.
  for (const [path, name, wait] of [
    ['/people', '10-people', 'text=设置密码'],
    ['/plans', '11-plans', 'text=上传计划文件'],
    ['/tasks', '12-tasks', 'text=任务一览'],
    ['/audit', '13-audit', 'text=校验哈希链'],
  ]) {
    await admin.goto(`${base}${path}`);
    await admin.waitForSelector(wait);
    await shot(admin, name);
  }
  await admin.click('.el-table__row >> nth=0');
  await admin.goto(`${base}/plans`);
  await admin.click(`.el-table__row:has-text("${submitted.plan_id}")`);
  await admin.waitForSelector('table.print');
  await shot(admin, '14-plan-sheet');
  await admin.goto(`${base}/audit`);
  await admin.click('button:has-text("校验哈希链")');
  await admin.waitForSelector('.el-alert--success');
  await shot(admin, '15-audit-verified');
  await shot(lead, '16-review-after');

  // 8. The public page, without signing in.
  const pub = await context();
  await pub.goto(`${base}/public/`);
  await select(pub, '', (await api(pub, '/public/plans')).find((p) => p.id === submitted.plan_id).title);
  await pub.fill('input[placeholder="搜索单位名称或统一社会信用代码"]', submitted.institution);
  const section = pub.locator('section', { has: pub.locator('h2:has-text("发现问题已责令改正")') });
  await section.locator(`td:has-text("${submitted.institution}")`).first().waitFor();
  check(true, `the public page lists ${submitted.institution} under 发现问题已责令改正`);
  await shot(pub, '17-public-results');
  const body = await pub.textContent('body');
  check(!body.includes(pick.to.badge_no ?? '###'), 'no badge number on the public page');
  {
    // The page reads one page of 50 per result, not the whole list.
    const pg = await api(pub, `/public/results/page?plan=${encodeURIComponent(submitted.plan_id)}&result=corrected&q=${encodeURIComponent(submitted.institution)}`);
    check(pg.total >= 1 && pg.entries.every((e) => e.result_code === 'corrected') && pg.counts.corrected === pg.total,
      `a page of the result list: ${pg.total} found under 发现问题已责令改正`);
  }
  await pub.goto(`${base}/public/draws/${draw.id}`);
  await pub.waitForSelector('text=如何复核');
  {
    const pd = await api(pub, `/public/draws/${draw.id}`);
    check(pd.units.every((u) => /[\u4e00-\u9fff]/.test(u.category)), 'the public draw names categories in Chinese, not codes');
    const inputs = await api(pub, `/public/draws/${draw.id}/inputs`);
    const authed = await api(admin, `/draws/${draw.id}/inputs`);
    check(JSON.stringify(inputs) === JSON.stringify(authed) && inputs.units.length > 0,
      `the draw's inputs download without signing in (${inputs.units.length} units), as the platform recorded them`);
    check(await pub.isVisible('text=下载公示的抽取输入'), 'the public draw page links its inputs');
  }
  await shot(pub, '18-public-draw');
  // Inspectors see their own tasks read only.
  const insp = await context();
  await signIn(insp, 'zhangwei');
  await insp.waitForSelector('text=任务一览');
  check(!(await insp.isVisible('text=双随机抽取')), 'an inspector sees no draw page');
  await shot(insp, '19-inspector-tasks');
} catch (e) {
  console.log('FAIL', e.message);
  failures++;
} finally {
  await browser.close();
}
console.log(`console-e2e: ${failures === 0 ? 'passed' : `${failures} failed`} in ${Math.round((Date.now() - started) / 1000)} s; screenshots in ${out}`);
process.exit(failures === 0 ? 0 : 1);
