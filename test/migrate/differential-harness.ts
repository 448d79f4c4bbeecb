// Runs the same matrix of clients x topics x actions against a real Mosquitto
// started with the original files and against edgemq started with the imported
// ones, and returns each outcome, so a test can compare them cell by cell.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { parse, stringify } from 'yaml'
import { freePort, waitForPort } from '../helpers/mosquitto-process.ts'
import { requireTool, startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'

/** A client of the matrix: credentials (or none) and its client id. */
export interface MatrixClient { label: string, clientId: string, username?: string, password?: string, tls?: { cert?: string, key?: string, ca: string } }

/** What happened for one client: connect, and per topic whether its publish arrived and whether it received. */
export interface MatrixOutcome { connect: Record<string, 'accepted' | 'refused'>, publish: Record<string, boolean>, receive: Record<string, boolean> }

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** A temp folder for one test's files. */
export async function tempDir (): Promise<string> {
  return await mkdtemp(join(tmpdir(), 'edgemq-migrate-'))
}

/** Makes a Mosquitto password file with Debian's mosquitto_passwd (its own hashes). */
export function mosquittoPasswd (path: string, users: Record<string, string>): void {
  const tool = requireTool('mosquitto_passwd', 'mosquitto')
  let first = true
  for (const [user, pw] of Object.entries(users)) {
    const r = spawnSync(tool, [...(first ? ['-c'] : []), '-b', path, user, pw], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr}`)
    first = false
  }
  spawnSync('chmod', ['600', path])
}

/** A running Mosquitto started with a whole config file (`user root` so it reads the test's files). */
export async function startMosquitto (confText: string, dir: string): Promise<{ child: ChildProcess, log: () => string, stop: () => Promise<void> }> {
  const conf = join(dir, `mosquitto-${Date.now()}.conf`)
  await writeFile(conf, `user root\n${confText}`)
  const child = spawn(requireTool('mosquitto', 'mosquitto'), ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stdout!.on('data', (c) => { log += String(c) })
  child.stderr!.on('data', (c) => { log += String(c) })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const port = Number(/^listener (\d+)/m.exec(confText)?.[1])
  await waitForPort(port).catch((err: Error) => { child.kill('SIGKILL'); throw new Error(`${err.message}\n${log}`) })
  return { child, log: () => log, stop: async () => { child.kill('SIGKILL'); await exited } }
}

/** Starts edgemq in this process from an imported config, its listeners on free ports (the broker reports them). */
export async function startImported (configPath: string): Promise<InProcessBroker> {
  const doc = parse(await readFile(configPath, 'utf8')) as Record<string, unknown>
  for (const l of doc.listeners as Array<Record<string, unknown>>) l.port = 0
  return await startBrokerInProcess(stringify(doc))
}

let tlsPort = 0

async function open (port: number, c: MatrixClient): Promise<MqttClient | undefined> {
  const tls = c.tls === undefined ? {} : { ca: readFileSync(c.tls.ca), ...(c.tls.cert !== undefined ? { cert: readFileSync(c.tls.cert), key: readFileSync(c.tls.key!) } : {}), rejectUnauthorized: true }
  // connect, not connectAsync: a TLS handshake the server refuses must end in "refused", and
  // connectAsync can wait forever for a CONNACK that never comes after a TLS alert.
  const client = mqtt.connect(c.tls === undefined ? `mqtt://127.0.0.1:${port}` : `mqtts://127.0.0.1:${tlsPort}`, { clientId: c.clientId, username: c.username, password: c.password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000, clean: true, ...tls })
  const ok = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 8_000)
    client.once('connect', () => { clearTimeout(timer); resolve(true) })
    client.once('error', () => { clearTimeout(timer); resolve(false) })
    client.once('close', () => { clearTimeout(timer); resolve(client.connected) })
  })
  if (ok) return client
  client.end(true)
  return undefined
}

/**
 * The matrix against a broker on `port`. `observer` may read and write every
 * topic: it sees which publishes arrived and publishes what the clients
 * should receive.
 */
export async function runMatrix (port: number, observer: MatrixClient, clients: readonly MatrixClient[], topics: readonly string[], tlsListenerPort = 0): Promise<MatrixOutcome> {
  tlsPort = tlsListenerPort
  const outcome: MatrixOutcome = { connect: {}, publish: {}, receive: {} }
  const watch = await open(port, observer)
  if (watch === undefined) throw new Error(`the observer ${observer.label} cannot connect`)
  const arrived = new Set<string>()
  watch.on('message', (_t, payload) => { arrived.add(String(payload)) })
  await watch.subscribeAsync('#', { qos: 1 })
  const received = new Set<string>()
  const live: MqttClient[] = []
  for (const c of clients) {
    const conn = await open(port, c)
    outcome.connect[c.label] = conn === undefined ? 'refused' : 'accepted'
    if (conn === undefined) continue
    live.push(conn)
    conn.on('message', (t, payload) => { received.add(`${c.label}|${t}|${String(payload)}`) })
    // Each topic subscribed one by one: a refused filter must not hide the others.
    for (const t of topics) await conn.subscribeAsync(t, { qos: 1 }).catch(() => {})
  }
  // Publishes: each client to each topic, tagged, each on its own connection (a refused
  // publish may close it: the spec allows that for 3.1.1, and it must not hide the next cell).
  await Promise.all(clients.filter((c) => outcome.connect[c.label] === 'accepted').map(async (c) => {
    for (const [i, t] of topics.entries()) {
      const conn = await open(port, { ...c, clientId: `${c.clientId}-pub${i}` })
      if (conn === undefined) continue
      await Promise.race([conn.publishAsync(t, `pub|${c.label}|${t}`, { qos: 1 }).catch(() => {}), sleep(3_000)])
      conn.end(true)
    }
  }))
  for (const t of topics) await watch.publishAsync(t, `obs|${t}`, { qos: 1 })
  // Settled: nothing new arrived for 700 ms (a loaded machine delivers late, never a different outcome).
  for (let last = -1, until = Date.now() + 10_000; Date.now() < until;) {
    const now = arrived.size + received.size
    if (now === last) break
    last = now
    await sleep(700)
  }
  for (const c of clients) {
    for (const t of topics) {
      outcome.publish[`${c.label} -> ${t}`] = arrived.has(`pub|${c.label}|${t}`)
      outcome.receive[`${c.label} <- ${t}`] = received.has(`${c.label}|${t}|obs|${t}`)
    }
  }
  for (const conn of live) conn.end(true)
  watch.end(true)
  return outcome
}

/** Cells where the two outcomes differ ("key: mosquitto X, edgemq Y"). */
export function differences (a: MatrixOutcome, b: MatrixOutcome): string[] {
  const out: string[] = []
  for (const kind of ['connect', 'publish', 'receive'] as const) {
    for (const key of Object.keys(a[kind])) {
      if (a[kind][key] !== b[kind][key]) out.push(`${kind} ${key}: mosquitto ${String(a[kind][key])}, edgemq ${String(b[kind][key])}`)
    }
  }
  return out
}

export { freePort, rm, sleep }
