// kill -9 soak (issue 11): the built broker (dist/edgemq.mjs, one process) is
// SIGKILLed at a random moment of a mixed QoS 1 / QoS 2 stream, N times, with
// persistent subscribers, the offline-queue caps on and a bridge to a real
// Mosquitto upstream. Counted at the end: acknowledged QoS 1 messages lost,
// QoS 2 messages lost or delivered twice to the application, sessions found
// missing on reconnect (CONNACK session present = 0, subscribers' and the
// publisher's), bridged QoS 1 messages
// that never reached Mosquitto.
//   node --import tsx test/persistence/kill9-soak.ts [--cycles 1000] [--json]
// test/persistence/kill9-soak.test.ts runs 50 cycles in npm test.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import mqtt, { type MqttClient } from 'mqtt'
import { MosquittoProcess } from '../helpers/mosquitto-process.ts'

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..')
// EDGEMQ_SOAK_BUNDLE: run a copy of the bundle (a long run then does not pick
// up a rebuild of dist/ made meanwhile); it is used as it is, never rebuilt.
const BUNDLE = process.env.EDGEMQ_SOAK_BUNDLE ?? join(ROOT, 'dist/edgemq.mjs')

/** What a soak run found. */
export interface SoakResult {
  cycles: number
  seconds: number
  published: { q1: number, q2: number, bridged: number }
  acknowledged: { q1: number, q2: number, bridged: number }
  lostQos1: number
  lostQos2: number
  duplicatedQos2: number
  sessionsLost: number
  bridgedLost: number
  /** The upstream Mosquitto exited during the soak (killed from outside, e.g. by a `pkill -x mosquitto`): the bridged figures then say nothing about the broker. */
  upstreamDied: boolean
  /** Example payloads of each failure kind (at most 10). */
  examples: Record<string, string[]>
}

/** Builds the bundle when it is missing or older than src/ (the soak runs what ships). */
export function ensureBundle (): void {
  if (process.env.EDGEMQ_SOAK_BUNDLE !== undefined) { if (!existsSync(BUNDLE)) throw new Error(`EDGEMQ_SOAK_BUNDLE ${BUNDLE} does not exist`); return }
  const newest = spawnSync('find', [join(ROOT, 'src'), '-newer', BUNDLE, '-name', '*.ts', '-print', '-quit'], { encoding: 'utf8' })
  if (existsSync(BUNDLE) && statSync(BUNDLE).size > 0 && newest.stdout.trim() === '') return
  const built = spawnSync(process.execPath, [join(ROOT, 'build.mjs')], { cwd: ROOT, stdio: 'inherit' })
  if (built.status !== 0) throw new Error('node build.mjs failed')
}

interface Running { child: ChildProcess, port: number, exited: Promise<void> }

async function startGateway (configPath: string): Promise<Running> {
  const child = spawn(process.execPath, ['--max-old-space-size=128', BUNDLE, 'start', '-c', configPath], { env: { ...process.env, EDGEMQ_NO_REEXEC: '1' }, stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let log = ''
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`gateway did not listen in 30 s:\n${log}`)) }, 30_000)
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (chunk: string) => {
      log += chunk
      if (log.length > 1 << 20) log = log.slice(-65536)
      const m = /listening listener=\S+ type=\S+ host=\S+ port=(\d+)/.exec(log)
      if (m !== null) { clearTimeout(timer); resolve(Number(m[1])) }
    })
    void exited.then(() => { clearTimeout(timer); reject(new Error(`gateway exited before listening:\n${log}`)) })
  })
  return { child, port, exited }
}

async function until (check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (!check() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 25))
  return check()
}

/** Runs the soak; `log` gets a progress line every few cycles. */
export async function runSoak (options: { cycles: number, seed?: number, log?: (line: string) => void }): Promise<SoakResult> {
  ensureBundle()
  let rnd = options.seed ?? (Date.now() >>> 0)
  const random = (): number => { rnd = (rnd * 1103515245 + 12345) >>> 0; return rnd / 0x1_0000_0000 }
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-soak-'))
  const mosq = await MosquittoProcess.start()
  const clients: MqttClient[] = []
  let gw: Running | undefined
  const started = performance.now()
  try {
    // The first start picks a free port; every restart reuses it so the clients reconnect on their own.
    const configText = (port: number): string => `listeners:
  - { name: tcp, type: tcp, host: 127.0.0.1, port: ${port} }
persistence: { path: ${JSON.stringify(join(dir, 'data'))}, sync: batch, maxQueuedBytes: 64MB }
limits: { maxQueuedMessages: 100000 }
logging: { level: info }
bridges:
  - name: up
    url: mqtt://127.0.0.1:${mosq.port}
    clientId: soak-gw
    topics:
      - { filter: soak/b/#, direction: out, qos: 1, remotePrefix: site/ }
    reconnect: { initialDelay: 100ms, maxDelay: 500ms }
`
    const configPath = join(dir, 'edgemq.yaml')
    await writeFile(configPath, configText(0))
    gw = await startGateway(configPath)
    const port = gw.port
    await writeFile(configPath, configText(port))

    const sessionsLost: string[] = []
    const client = (clientId: string, clean: boolean): MqttClient => {
      const c = mqtt.connect({ host: '127.0.0.1', port, clientId, clean, reconnectPeriod: 100, connectTimeout: 5000, keepalive: 30 })
      c.on('error', () => {})
      let connects = 0
      c.on('connect', (connack) => {
        // every reconnect after the first must find its session [MQTT-3.2.2-2]:
        // the subscribers' (subscriptions, queues) and the publisher's (no
        // subscription, its inbound QoS 2 state), which MQTT.js drops the
        // receive side of when told Session Present 0
        if (!clean && connects++ > 0 && connack.sessionPresent !== true) sessionsLost.push(`${clientId}#${connects}`)
      })
      clients.push(c)
      return c
    }
    const connected = async (c: MqttClient): Promise<void> => { if (!c.connected) await new Promise<void>((resolve) => c.once('connect', () => resolve())) }
    const counts = (c: MqttClient): Map<string, number> => {
      const seen = new Map<string, number>()
      c.on('message', (_t, payload) => { const k = payload.toString(); seen.set(k, (seen.get(k) ?? 0) + 1) })
      return seen
    }
    const sub1 = client('soak-sub-q1', false)
    const sub2 = client('soak-sub-q2', false)
    const seen1 = counts(sub1)
    const seen2 = counts(sub2)
    await Promise.all([connected(sub1), connected(sub2)])
    await sub1.subscribeAsync('soak/q1/#', { qos: 1 })
    await sub2.subscribeAsync('soak/q2/#', { qos: 2 })
    const up = await mqtt.connectAsync({ host: '127.0.0.1', port: mosq.port, clientId: 'soak-upstream-sub', clean: true, reconnectPeriod: 100 })
    clients.push(up)
    const seenUp = counts(up)
    await up.subscribeAsync('site/soak/b/#', { qos: 1 })

    // The publisher: a persistent session, so MQTT.js resends what was not acknowledged when the broker died.
    const pub = client('soak-pub', false)
    await connected(pub)
    const sentById = new Map<number, string>()
    const acked = { q1: new Set<string>(), q2: new Set<string>(), b: new Set<string>() }
    const published = { q1: 0, q2: 0, bridged: 0 }
    pub.on('packetsend', (p: any) => { if (p.cmd === 'publish' && p.qos > 0) sentById.set(p.messageId, p.payload.toString()) })
    pub.on('packetreceive', (p: any) => {
      if (p.cmd !== 'puback' && p.cmd !== 'pubrec') return
      const k = sentById.get(p.messageId)
      if (k === undefined) return
      const kind = k.slice(0, 2) as 'q1' | 'q2' | 'b-'
      ;(kind === 'b-' ? acked.b : acked[kind]).add(k)
    })
    let stop = false
    let inflight = 0
    let seq = 0
    const pump = (async () => {
      while (!stop) {
        if (inflight >= 64 || !pub.connected) { await new Promise((resolve) => setTimeout(resolve, 2)); continue }
        const n = seq++
        const pick = n % 3
        const [topic, payload, qos] = pick === 0 ? [`soak/q1/${n % 7}`, `q1-${n}`, 1] : pick === 1 ? [`soak/q2/${n % 7}`, `q2-${n}`, 2] : [`soak/b/${n % 5}`, `b-${n}`, 1]
        if (pick === 0) published.q1++; else if (pick === 1) published.q2++; else published.bridged++
        inflight++
        pub.publish(topic, payload, { qos: qos as 1 | 2 }, () => { inflight-- })
      }
    })()

    for (let cycle = 1; cycle <= options.cycles; cycle++) {
      const before = acked.q1.size + acked.q2.size + acked.b.size
      // a random kill point: after 20-400 ms of load and at least a few new acknowledgements
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.floor(random() * 380)))
      await until(() => acked.q1.size + acked.q2.size + acked.b.size > before + 3, 5_000)
      gw.child.kill('SIGKILL')
      await gw.exited
      gw = await startGateway(configPath)
      if (options.log !== undefined && (cycle % 25 === 0 || cycle === options.cycles)) {
        options.log(`cycle ${cycle}/${options.cycles}: acknowledged q1 ${acked.q1.size} q2 ${acked.q2.size} bridged ${acked.b.size}; sessions lost ${sessionsLost.length}; ${((performance.now() - started) / 1000).toFixed(0)} s`)
      }
    }
    stop = true
    await pump
    // everything the publisher still has in flight is resent and acknowledged, then delivered
    await until(() => inflight === 0, 60_000)
    const missing = (ackedSet: Set<string>, seen: Map<string, number>): string[] => [...ackedSet].filter((k) => (seen.get(k) ?? 0) === 0)
    await until(() => missing(acked.q1, seen1).length === 0 && missing(acked.q2, seen2).length === 0 && missing(acked.b, seenUp).length === 0, 120_000)
    await new Promise((resolve) => setTimeout(resolve, 1000)) // late duplicates
    const lost1 = missing(acked.q1, seen1)
    const lost2 = missing(acked.q2, seen2)
    const lostB = missing(acked.b, seenUp)
    const dup2 = [...seen2].filter(([, n]) => n > 1).map(([k]) => k)
    return {
      cycles: options.cycles,
      seconds: Math.round((performance.now() - started) / 1000),
      published,
      acknowledged: { q1: acked.q1.size, q2: acked.q2.size, bridged: acked.b.size },
      lostQos1: lost1.length,
      lostQos2: lost2.length,
      duplicatedQos2: dup2.length,
      sessionsLost: sessionsLost.length,
      bridgedLost: lostB.length,
      upstreamDied: mosq.exitedUnexpectedly(),
      examples: { lostQos1: lost1.slice(0, 10), lostQos2: lost2.slice(0, 10), duplicatedQos2: dup2.slice(0, 10), sessionsLost: sessionsLost.slice(0, 10), bridgedLost: lostB.slice(0, 10) }
    }
  } finally {
    for (const c of clients) c.end(true)
    if (gw !== undefined) { gw.child.kill('SIGKILL'); await gw.exited }
    await mosq.dispose()
    await rm(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name: string): string | undefined => { const i = process.argv.indexOf(name); return i < 0 ? undefined : process.argv[i + 1] }
  const cycles = Number(arg('--cycles') ?? 1000)
  const result = await runSoak({ cycles, seed: arg('--seed') === undefined ? undefined : Number(arg('--seed')), log: (line) => { process.stderr.write(line + '\n') } })
  process.stdout.write(JSON.stringify(result, null, 2) + '\n')
  const bad = result.lostQos1 + result.lostQos2 + result.duplicatedQos2 + result.sessionsLost + result.bridgedLost
  if (result.upstreamDied) process.stderr.write('the upstream Mosquitto exited during the soak (killed from outside?): the bridged figures are not the broker\'s; run it again\n')
  process.exit(bad === 0 ? 0 : 1)
}
