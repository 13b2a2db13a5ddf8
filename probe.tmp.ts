import { chromium } from 'playwright-core';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 390, height: 844 } });
const page = await context.newPage();
const origin = 'https://127.0.0.1:18443';
for (let i = 0; i < 30; i++) { try { await page.goto(`${origin}/login`); break; } catch { await new Promise(r => setTimeout(r, 500)); } }
await page.getByRole('button', { name: 'Sign in with an API key instead' }).click();
await page.getByLabel('API key').fill('sk-airmy-demo-2026');
await page.getByRole('button', { name: 'Sign in', exact: true }).click();
await page.getByRole('button', { name: 'Sign out' }).waitFor();
await page.goto(`${origin}${process.argv[2] ?? '/runs'}`);
await page.waitForTimeout(1500);
const wide = await page.evaluate(() => {
  const d = (globalThis as any).document;
  const out: string[] = [];
  for (const el of d.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right > 392) out.push(`${el.tagName}.${el.className} right=${Math.round(r.right)} w=${Math.round(r.width)}`);
  }
  return out.slice(0, 15);
});
console.log(wide.join('\n'));
await page.screenshot({ path: '/tmp/dashdev/shot.png' });
await browser.close();
