// End-to-end: headless chromium loads the web client from a running heartstreamd, starts a short
// song, and checks that Opus packets arrive, decode (WebCodecs) and are not silent; saves a
// screenshot. Usage: node e2e/stream_e2e.mjs URL SCREENSHOT.png
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, screenshot] = process.argv.slice(2);
if (!url || !screenshot) {
  console.error('usage: node e2e/stream_e2e.mjs URL SCREENSHOT.png');
  process.exit(2);
}
const SONG_MS = 3000;
const MIN_RMS = 1e-3;  // the demo model's noise sits far above this; silence is 0
const DONE_TIMEOUT_MS = 120000;

const profile = mkdtempSync(join(tmpdir(), 'hs-chromium-'));
// A fresh profile: playwright passes it to chromium as --user-data-dir.
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--autoplay-policy=no-user-gesture-required'],
});
let failed = false;
try {
  const page = await browser.newPage();
  page.on('console', (m) => console.log(`[page] ${m.text()}`));
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto(url);
  await page.fill('#length', String(SONG_MS));
  await page.fill('#seed', '7');
  await page.click('#start');
  await page.waitForFunction(() => ['done', 'error'].includes(window.hsStats.state), null, { timeout: DONE_TIMEOUT_MS });
  const stats = await page.evaluate(() => window.hsStats);
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ ...stats, sumSquares: undefined }));
  const checks = [
    [stats.state === 'done', `song finished (state ${stats.state}, error ${stats.error})`],
    [stats.packets > 0, `Opus packets arrived (${stats.packets})`],
    [stats.decodedFrames > 0, `AudioDecoder produced frames (${stats.decodedFrames})`],
    [stats.decodedSamples >= (SONG_MS * 48), `decoded at least the song's length (${stats.decodedSamples} samples)`],
    [stats.rms > MIN_RMS, `decoded audio is not silent (rms ${stats.rms})`],
    [stats.ttfaMs > 0 && stats.rtf > 0, `ttfa ${stats.ttfaMs} ms, rtf ${stats.rtf} reported`],
    [await page.isVisible('#download'), 'download link offered'],
  ];
  for (const [ok, what] of checks) {
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
    failed ||= !ok;
  }
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
