// The status page in a real headless browser (Debian's chromium driven by
// playwright-core) against a running broker with a bridge to a real
// Mosquitto, a second bridge whose upstream is down, connected clients, a
// ban, a throttled client and a TLS certificate. Checks what a person sees,
// that it refreshes itself and pages and searches clients, that a phone-width
// screen needs no sideways scrolling, and takes the screenshots of
// docs/observability.md: into docs/ (status-page.png, status-page-phone.png)
// with EDGEMQ_UPDATE_SCREENSHOTS=1, else into a temp folder (a test run must
// not change the tree).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { makeTestPki } from '../auth/test-pki.ts'
import { removeDir, tempDir, writePasswords } from '../auth/security-broker.ts'
import { connectClient } from '../auth/mqtt-connect.ts'
import { MosquittoProcess, freePort } from '../helpers/mosquitto-process.ts'
import { REPO_ROOT, requireTool } from '../helpers/broker-process.ts'
import { startFullBroker, writeToken, type FullBroker } from './http-fixtures.ts'

const test = suite('status page in headless chromium')

let dir: string
let profile: string
let mosq: MosquittoProcess
let gw: FullBroker
let browser: BrowserContext
let page: Page
const clients: MqttClient[] = []

const SHOTS = process.env.EDGEMQ_UPDATE_SCREENSHOTS === '1' ? join(REPO_ROOT, 'docs') : undefined
let shots: string

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

test.before(async () => {
  const executablePath = requireTool('/usr/bin/chromium', 'chromium')
  dir = await tempDir()
  profile = await mkdtemp(join(tmpdir(), 'edgemq-chromium-'))
  shots = SHOTS ?? join(profile, 'shots')
  mosq = await MosquittoProcess.start()
  const deadPort = await freePort()
  const pki = await makeTestPki(dir)
  const t = await writeToken(dir)
  const passwords = await writePasswords(dir, { alice: 'alice-pass' })
  gw = await startFullBroker(`listeners:
  - { name: mqtt, type: tcp, host: 127.0.0.1, port: 0 }
  - { name: mqtt-v6, type: tcp, host: '::1', port: 0, allowAnonymous: true }
  - { name: web, type: http, host: 127.0.0.1, port: 0, tokenFile: ${t.path}, requestRate: 50, requestBurst: 100 }
  - { name: secure, type: https, host: 127.0.0.1, port: 0, cert: ${pki.server.cert}, key: ${pki.server.key}, tokenFile: ${t.path} }
auth:
  passwordFile: ${passwords}
  lockout: { ipFailures: 2, ipv6Prefix: 128 }
throttle: { client: { inboundMessagesPerSecond: 20 }, burstSeconds: 0.5 }
bridges:
  - name: cloud
    url: mqtt://127.0.0.1:${mosq.port}
    clientId: gw-status
    topics: [{ filter: sensors/#, direction: out, qos: 1, remotePrefix: site/ }]
    reconnect: { initialDelay: 200ms, maxDelay: 1s }
  - name: backup
    url: mqtt://127.0.0.1:${deadPort}
    clientId: gw-backup
    topics: [{ filter: sensors/#, direction: out, qos: 1 }]
    reconnect: { initialDelay: 200ms, maxDelay: 1s }
`, dir)
  const url = `mqtt://127.0.0.1:${gw.port('mqtt')}`
  for (let i = 0; i < 30; i++) clients.push(await mqtt.connectAsync(url, { clientId: `sensor-${String(i).padStart(2, '0')}`, protocolVersion: i % 2 === 0 ? 5 : 4 }))
  clients.push(await mqtt.connectAsync(url, { clientId: 'alice-tablet', username: 'alice', password: 'alice-pass' }))
  // Messages for both bridges: the backup one queues them (its upstream is down).
  for (let i = 0; i < 12; i++) await clients[0].publishAsync(`sensors/t${i}`, `reading ${i}`, { qos: 1 })
  // A burst above 20 messages/s: sensor-01 is held by its throttle.
  await Promise.all(Array.from({ length: 40 }, async (_, i) => await clients[1].publishAsync('sensors/burst', String(i), { qos: 1 })))
  // Two bad passwords from ::1 ban it (the page itself is read over 127.0.0.1).
  for (let i = 0; i < 2; i++) await connectClient(`mqtt://[::1]:${gw.port('mqtt-v6')}`, { username: 'alice', password: 'nope', reconnectPeriod: 0 }, 5000).catch(() => {})

  browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    extraHTTPHeaders: { authorization: `Bearer ${t.token}` },
    viewport: { width: 1280, height: 900 }
  })
  page = browser.pages()[0] ?? await browser.newPage()
})

test.after(async () => {
  await browser?.close()
  await Promise.all(clients.map(async (c) => { await c.endAsync(true) }))
  await gw?.stop()
  await mosq?.dispose()
  await removeDir(dir)
  if (profile !== undefined) await rm(profile, { recursive: true, force: true })
})

const cellTexts = async (table: string): Promise<string[][]> => await page.$$eval(`#${table} tbody tr`, (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim())))

test('shows listeners, bridges with queue and last error, clients, bans, throttles, memory, store, certificates and the board', async () => {
  const errors: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
  page.on('pageerror', (e) => { errors.push(e.message) })
  await page.goto(`http://127.0.0.1:${gw.port('web')}/`)
  await page.waitForFunction(() => document.getElementById('ready')?.textContent === 'ready', undefined, { timeout: 20_000 })
  assert.is(await page.textContent('#board'), 'board generic')

  const listeners = await cellTexts('listeners')
  assert.equal(listeners.map((r) => [r[0], r[1], r[3]]), [['mqtt', 'tcp', 'bound'], ['mqtt-v6', 'tcp', 'bound'], ['web', 'http', 'bound'], ['secure', 'https', 'bound']])

  // The backup bridge's upstream is down: its queue and last error show; the cloud one is connected.
  await page.waitForFunction(() => [...document.querySelectorAll('#bridges tbody tr')].some((r) => r.textContent?.includes('backup') && r.textContent.includes('down') && /refused|ECONNREFUSED/i.test(r.textContent)), undefined, { timeout: 20_000 })
  const bridges = await cellTexts('bridges')
  const cloud = bridges.find((r) => r[0] === 'cloud')
  const backup = bridges.find((r) => r[0] === 'backup')
  assert.is(cloud?.[1], 'connected')
  assert.is(backup?.[1], 'down')
  assert.ok(Number(backup?.[2].split(' ')[0]) >= 12, `backup queue ${backup?.[2] ?? ''}`)

  await page.waitForFunction(() => document.getElementById('clients-count')?.textContent === '(31)', undefined, { timeout: 20_000 })
  assert.is(await page.textContent('#page'), '1–25')
  assert.is((await cellTexts('clients')).length, 25)

  const bans = await cellTexts('bans')
  assert.is(bans.length, 1)
  assert.is(bans[0][0], '::1')
  assert.match(bans[0][2], /^\d+ (s|min)$/, 'time left')

  const throttled = await cellTexts('throttles')
  assert.ok(throttled.some((r) => r[0] === 'sensor-01'), JSON.stringify(throttled))

  // the queue figures: inflight, and the offline queues once counted after start
  const overview = await page.textContent('#overview') ?? ''
  assert.match(overview, /\d+inflight/)
  assert.match(overview, /\d+ \([\d.]+ (B|KiB|MiB)\)offline queues/)

  const resources = await page.textContent('#resources') ?? ''
  assert.match(resources, /memory \(ok\)/)
  assert.match(resources, /MiB of/)
  assert.match(resources, /store \(batch\)/)

  const certs = await cellTexts('certificates')
  const secure = certs.find((r) => r[0] === 'listener secure')
  assert.ok(secure !== undefined && Number(secure[3]) > 0, JSON.stringify(certs))
  assert.equal(errors, [], 'no console errors (the CSP allows everything the page needs)')
  await page.screenshot({ path: join(shots, 'status-page.png'), fullPage: true })
})

test('pages and searches clients by id, user and IP', async () => {
  await page.click('#next')
  await page.waitForFunction(() => document.getElementById('page')?.textContent === '26–31', undefined, { timeout: 10_000 })
  assert.is((await cellTexts('clients')).length, 6)
  await page.fill('#q', 'alice')
  await page.waitForFunction(() => document.getElementById('clients-count')?.textContent === '(1 of 31)', undefined, { timeout: 10_000 })
  const rows = await cellTexts('clients')
  assert.equal(rows.map((r) => [r[0], r[1], r[2]]), [['alice-tablet', 'alice', '127.0.0.1']])
  await page.fill('#q', 'sensor-1')
  await page.waitForFunction(() => document.getElementById('clients-count')?.textContent === '(10 of 31)', undefined, { timeout: 10_000 })
  await page.fill('#q', '')
  await page.waitForFunction(() => document.getElementById('clients-count')?.textContent === '(31)', undefined, { timeout: 10_000 })
})

test('refreshes itself: new messages show without a reload', async () => {
  const received = async (): Promise<number> => Number(await page.$eval('#overview .card', (card) => card.parentElement?.children[1]?.querySelector('b')?.textContent ?? 'NaN'))
  const before = await received()
  for (let i = 0; i < 5; i++) await clients[2].publishAsync('other/x', 'y', { qos: 0 })
  await page.waitForFunction((n) => Number(document.querySelector('#overview')?.children[1]?.querySelector('b')?.textContent) >= n + 5, before, { timeout: 20_000 })
  assert.ok(await received() >= before + 5)
})

test('works on a phone: one column, no sideways scrolling; a client id with markup shows as text', async () => {
  const xss = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.port('mqtt')}`, { clientId: '<img src=x onerror=alert(1)>' })
  clients.push(xss)
  await page.setViewportSize({ width: 390, height: 844 })
  await page.reload()
  await page.waitForFunction(() => document.getElementById('clients-count')?.textContent === '(32)', undefined, { timeout: 20_000 })
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  assert.ok(overflow <= 0, `page is ${overflow} px wider than the phone`)
  assert.is(await page.$$eval('img', (imgs) => imgs.length), 0, 'the client id was not parsed as HTML')
  await page.fill('#q', 'onerror')
  await page.waitForFunction(() => document.getElementById('clients-count')?.textContent === '(1 of 32)', undefined, { timeout: 10_000 })
  assert.equal((await cellTexts('clients'))[0][0], '<img src=x onerror=alert(1)>')
  await page.fill('#q', '')
  await page.waitForFunction(() => document.getElementById('clients-count')?.textContent === '(32)', undefined, { timeout: 10_000 })
  // what the phone shows first (the full page is 25 client cards long)
  await page.evaluate(() => { window.scrollTo(0, 0) })
  await page.screenshot({ path: join(shots, 'status-page-phone.png'), fullPage: false })
})

test.run()
