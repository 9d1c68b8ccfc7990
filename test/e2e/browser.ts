/**
 * Headless Chromium for the browser tests and the P2P bench: Debian's /usr/bin/chromium
 * driven by playwright-core. One browser per test file; each viewer is a context of its own
 * (its own storage and service worker, like a separate person), and they reach each other
 * over WebRTC on loopback.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

/** Where screenshots go (gitignored). */
export const OUTPUT_DIR = join(import.meta.dir, '..', '..', 'test-output')

/** Flags: no sandbox (containers), no GPU, no QUIC, nothing phoning home; host ICE candidates are plain IPs (not mDNS names) so loopback peers connect. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  // Playback starts without a click, as for a viewer who pressed play.
  '--autoplay-policy=no-user-gesture-required',
]

/** Starts headless Chromium. */
export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS })
}

/** A fresh viewer: its own context (cookies, storage, service worker) and page, and the page's errors. */
export async function viewer(browser: Browser, opts: { width?: number; height?: number; mobile?: boolean } = {}): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
    deviceScaleFactor: 1,
    isMobile: opts.mobile ?? false,
    hasTouch: opts.mobile ?? false,
  })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
  page.on('console', (m) => {
    // An API answering 4xx is logged by the browser too; the pages show those errors themselves.
    if (m.type() === 'error' && !/the server responded with a status of 4\d\d/.test(m.text())) errors.push(`console: ${m.text()}`)
  })
  return { context, page, errors }
}

/** Saves a full-page screenshot as test-output/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(OUTPUT_DIR, { recursive: true })
  const path = join(OUTPUT_DIR, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

/** The password of every account the browser tests make. */
export const PASSWORD = 'correct horse battery staple'

/** Logs in through the login page, then waits for the page to show who is logged in. */
export async function logIn(page: Page, base: string, username: string, next = '/'): Promise<void> {
  await page.goto(`${base}/login?next=${encodeURIComponent(next)}`)
  await page.getByLabel('User name').fill(username)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.locator('.whoami').waitFor()
}
