// Test helpers for the http/https listeners: the whole broker (every part of
// src/parts.ts) in this process from YAML, a token file, and a small HTTP
// client on node:http/https (so a test can pass a CA and read every header).
import { chmod, writeFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { startBroker, type EdgemqBroker } from '../../src/broker.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { PARTS } from '../../src/parts.ts'
import { configFrom } from '../auth/security-broker.ts'

/** A broker with every part, its logs and its ports by listener name. */
export interface FullBroker {
  broker: EdgemqBroker
  logs: string[]
  port: (name: string) => number
  stop: () => Promise<void>
}

/** Starts the broker from YAML (data and control socket in `dir`). */
export async function startFullBroker (yaml: string, dir: string): Promise<FullBroker> {
  const config = await configFrom(yaml, dir)
  const logs: string[] = []
  const logger = createLogger({ level: 'debug', sink: (line) => { logs.push(line) } })
  const broker = await startBroker(config, logger, PARTS)
  let stopped: Promise<void> | undefined
  return {
    broker,
    logs,
    port: (name) => {
      const a = broker.addresses().find((x) => x.name === name)
      if (a === undefined) throw new Error(`no listener ${name}`)
      return a.port
    },
    stop: async () => { stopped ??= broker.close(); await stopped }
  }
}

/** Writes a random token to dir/<name> with `mode`; returns its path and value. */
export async function writeToken (dir: string, name = 'http-token', mode = 0o600): Promise<{ path: string, token: string }> {
  const token = randomBytes(24).toString('hex')
  const path = join(dir, name)
  await writeFile(path, token + '\n', { mode })
  await chmod(path, mode)
  return { path, token }
}

/** An HTTP answer. */
export interface HttpAnswer { status: number, headers: Record<string, string | string[] | undefined>, body: string }

/** GET (or another method) on 127.0.0.1:port; `ca` switches to https. */
export async function httpGet (port: number, path: string, options: { headers?: Record<string, string>, method?: string, ca?: Buffer, timeoutMs?: number } = {}): Promise<HttpAnswer> {
  return await new Promise<HttpAnswer>((resolve, reject) => {
    const request = options.ca === undefined ? httpRequest : httpsRequest
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, ca: options.ca, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }) })
      res.on('error', reject)
    })
    req.setTimeout(options.timeoutMs ?? 10_000, () => { req.destroy(new Error(`GET ${path}: no answer in time`)) })
    req.on('error', reject)
    req.end()
  })
}

/** The Authorization header for a bearer token. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

/** The Authorization header for HTTP Basic. */
export const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` })

/** One sample of a metric in Prometheus text ("name{a="b"} 3"), or undefined. */
export function sampleOf (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$/.exec(line)
    if (m === null || m[1] !== name) continue
    const got: Record<string, string> = {}
    for (const part of (m[3] ?? '').match(/[a-zA-Z_]\w*="(?:[^"\\]|\\.)*"/g) ?? []) {
      const eq = part.indexOf('=')
      got[part.slice(0, eq)] = part.slice(eq + 2, -1)
    }
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4])
  }
  return undefined
}
