/**
 * The admin page's transcoding runners in Chromium: an admin makes a registration token (shown
 * once, with the command to register), a runner registers with it and shows up with its last
 * contact, and revoking the token removes it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import { netPod, stopPods } from '../helpers/network'
import { removeTempDirs, type TestPod } from '../helpers/pods'
import { launch, logIn, PASSWORD, screenshot, viewer } from './browser'
import { valueOf } from '../helpers/results'

afterAll(stopPods)
afterAll(removeTempDirs)

let browser: Browser
let pod: TestPod
beforeAll(async () => {
  ;[browser, pod] = await Promise.all([launch(), netPod({ transcoding: { local: false } })])
  valueOf(await pod.running.pod.accounts.create('root', PASSWORD, 'admin'))
})
afterAll(() => browser?.close())

test('an admin makes a token on the admin page, a runner registers with it and is listed, and revoking the token removes it', async () => {
  const { context, page, errors } = await viewer(browser)
  try {
    await logIn(page, pod.base, 'root', '/admin')
    const section = page.locator('section.runners-section')
    await section.getByText('No runners').waitFor()
    await section.getByLabel("New token's name").fill('garage')
    await section.getByRole('button', { name: 'Make a token' }).click()
    const command = await section.locator('code.runner-command').textContent()
    const token = /--token (\S+)/.exec(command ?? '')?.[1]
    expect(command).toContain(`seedpod runner register --pod ${pod.base} --token`)
    const registered = await fetch(`${pod.base}/api/v1/runners/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, name: 'garage-box' }) })
    expect(registered.status).toBe(201)
    const row = section.locator('tr', { hasText: 'garage-box' })
    await row.waitFor({ timeout: 10_000 })
    expect(await row.locator('td[data-label="Current job"]').textContent()).toBe('idle')
    expect(await row.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-/)
    await section.getByText('garage (1 runner)').waitFor()
    await screenshot(page, 'admin-runners')
    await section.locator('li', { hasText: 'garage' }).getByRole('button', { name: 'Revoke' }).click()
    await section.getByText('No runners').waitFor()
    expect(await section.locator('li').count()).toBe(0)
    expect(errors).toEqual([])
  } finally {
    await context.close()
  }
}, 60_000)
