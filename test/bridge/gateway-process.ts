// Starts edgemq with the bridge as its own process, for tests that kill it
// with SIGKILL. Through the real CLI (startBrokerProcess) once src/parts.ts
// lists the bridge part; until then through gateway-main.ts (same core and
// parts, plus the bridge). Data lives in the directory the config names, so
// a killed gateway can be started again on the same queue.
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { REPO_ROOT, startBrokerProcess } from '../helpers/broker-process.ts'
import { PARTS } from '../../src/parts.ts'
import { attachBridgesPart } from '../../src/bridge/bridge-part.ts'

/** Whether `edgemq start` itself attaches the bridge. */
export const CLI_HAS_BRIDGE = PARTS.includes(attachBridgesPart)

/** A running gateway process. */
export interface GatewayProcess {
  port: number
  stderr: () => string
  /** SIGKILL (default) or another signal; resolves when it exited. */
  kill: (signal?: NodeJS.Signals) => Promise<void>
}

const running = new Set<ChildProcess>()
process.once('exit', () => { for (const c of running) c.kill('SIGKILL') })

/** Starts a gateway from YAML written to `dir`/edgemq.yaml; the YAML must set persistence.path. */
export async function startGatewayProcess (yaml: string, dir: string): Promise<GatewayProcess> {
  if (CLI_HAS_BRIDGE) {
    const h = await startBrokerProcess({ config: yaml })
    await waitForReady(h.stderr)
    return { port: h.port, stderr: h.stderr, kill: async (signal) => { await h.kill(signal); await h.stop() } }
  }
  const configPath = join(dir, 'edgemq.yaml')
  await writeFile(configPath, yaml)
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/bridge/gateway-main.ts'), configPath], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
  running.add(child)
  const exited = new Promise<void>((resolve) => child.once('exit', () => { running.delete(child); resolve() }))
  let log = ''
  child.stderr!.setEncoding('utf8')
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not listen within 20 s:\n${log}`)), 20_000)
    child.stderr!.on('data', (chunk: string) => {
      log += chunk
      const m = /info broker: listening listener=\S+ type=\S+ host=\S+ port=(\d+)/.exec(log)
      if (m !== null) { clearTimeout(timer); resolve(Number(m[1])) }
    })
    void exited.then(() => { clearTimeout(timer); reject(new Error(`gateway exited before listening:\n${log}`)) })
  })
  await waitForReady(() => log)
  return {
    port,
    stderr: () => log,
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    }
  }
}

/** "listening" comes before the parts and the control socket are up; "ready" comes after. */
async function waitForReady (stderr: () => string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!/ info edgemq: ready /.test(stderr())) {
    if (Date.now() > deadline) throw new Error(`gateway did not log "ready" within 20 s:\n${stderr()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
