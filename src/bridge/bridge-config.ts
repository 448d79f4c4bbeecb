// From the loader's `bridges` list to one validated BridgeSpec per bridge,
// and the secrets (password, TLS files) read from disk before anything
// connects: a reload with a missing file fails and changes nothing.
import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import type { EdgemqConfig } from '../config/types.ts'
import { optionDefault } from '../config/option-default.ts'
import { BRIDGE_FIELDS } from './bridge-options.ts'
import { parseSealRules } from '../crypto/crypto-options.ts'
import type { SealRuleConfig } from '../crypto/topic-sealer.ts'
import { checkBridgeItems, parseSection, type BridgeAuth, type BridgeSections, type BridgeTls } from './bridge-sections.ts'
import type { QueueLimits } from './bridge-queue.ts'
import type { TopicRule } from './topic-rules.ts'

/** One bridge, validated, every default applied. Durations in ms, sizes in bytes. */
export interface BridgeSpec extends BridgeSections {
  name: string
  /** Upstream addresses, tried in order. */
  urls: string[]
  protocolVersion: 4 | 5
  clientId: string
  keepalive: number
  cleanSession: boolean
  sessionExpiry: number
  connectTimeout: number
  maxPacketSize: number
  maxInflight: number
  enabled: boolean
}

/** Secrets of one bridge, read from files or the environment. Never logged. */
export interface BridgeSecrets {
  password?: Buffer
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
}

/** Problems with the whole list that no single field can see (required fields, unique names), as one sentence. */
export function checkBridgeList (items: unknown): string | undefined {
  const problems: string[] = []
  bridgeSpecsFrom(items, problems)
  return problems.length === 0 ? undefined : problems.join('; ')
}

/** The bridges of a config; throws EDGEMQ_ERR_CONFIG_INVALID listing every problem. */
export function toBridgeSpecs (config: EdgemqConfig): BridgeSpec[] {
  const problems: string[] = []
  const specs = bridgeSpecsFrom(config.bridges ?? [], problems)
  if (problems.length > 0) {
    throw new EdgemqError(ERROR_CODES.CONFIG_INVALID, `bridges have ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n  ${problems.join('\n  ')}`, { problems })
  }
  return specs
}

function bridgeSpecsFrom (items: unknown, problems: string[]): BridgeSpec[] {
  problems.push(...checkBridgeItems(items))
  if (!Array.isArray(items)) return []
  return items.map((raw, i) => {
    const b = (raw ?? {}) as Record<string, unknown>
    const name = typeof b.name === 'string' ? b.name : ''
    const at = `bridges[${i}]`
    const local: string[] = []
    const urls = typeof b.url === 'string' ? [b.url] : Array.isArray(b.urls) ? b.urls.filter((u): u is string => typeof u === 'string') : []
    const sections = parseBridgeSections(b, local)
    const tlsWanted = urls.some((u) => /^(mqtts|tls|ssl|wss):/.test(u))
    if (!tlsWanted && (sections.tls.ca !== undefined || sections.tls.cert !== undefined)) local.push('sets tls files but no url is mqtts:// or wss://')
    for (const p of local) problems.push(`${at}${name === '' ? '' : ` (${name})`}: ${p}`)
    // a bridge built without the config loader (tests, ctl) gets the table's defaults
    const num = (v: unknown, field: string): number => typeof v === 'number' ? v : optionDefault(BRIDGE_FIELDS, field) as number
    return {
      ...sections,
      name,
      urls,
      protocolVersion: b.protocolVersion === 4 ? 4 : 5,
      clientId: typeof b.clientId === 'string' ? b.clientId : defaultClientId(name),
      keepalive: num(b.keepalive, 'keepalive'),
      cleanSession: b.cleanSession === true,
      sessionExpiry: num(b.sessionExpiry, 'sessionExpiry'),
      connectTimeout: num(b.connectTimeout, 'connectTimeout'),
      maxPacketSize: num(b.maxPacketSize, 'maxPacketSize'),
      maxInflight: num(b.maxInflight, 'maxInflight'),
      enabled: b.enabled !== false
    }
  })
}

/** Validates the nested sections of one bridge and applies their defaults. */
export function parseBridgeSections (raw: Record<string, unknown>, problems: string[]): BridgeSections {
  let seal: SealRuleConfig[] = []
  if (raw.seal !== undefined) {
    try {
      // One rule may be written as a mapping instead of a list of one.
      seal = parseSealRules(Array.isArray(raw.seal) ? raw.seal : [raw.seal], 'seal', () => 'bridge')
    } catch (err) {
      problems.push(...((err as { problems?: string[] }).problems ?? [(err as Error).message]))
    }
  }
  return {
    auth: parseSection('auth', raw.auth, problems) as BridgeAuth,
    tls: parseSection('tls', raw.tls, problems) as BridgeTls,
    topics: parseSection('topics', raw.topics, problems) as TopicRule[],
    queue: parseSection('queue', raw.queue, problems) as QueueLimits,
    reconnect: parseSection('reconnect', raw.reconnect, problems) as BridgeSections['reconnect'],
    seal
  }
}

/** edgemq-<hostname>-<bridge>, cut to 64 characters (brokers commonly allow more than 3.1.1's 23). */
function defaultClientId (name: string): string {
  return `edgemq-${hostname().replace(/[^A-Za-z0-9_-]/g, '')}-${name}`.slice(0, 64)
}

/** Reads a bridge's password and TLS files; throws EDGEMQ_ERR_BRIDGE_FAILED naming the file and the fix. */
export async function readBridgeSecrets (spec: BridgeSpec, env: NodeJS.ProcessEnv = process.env): Promise<BridgeSecrets> {
  const secrets: BridgeSecrets = {}
  const read = async (path: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(path)
    } catch (err) {
      throw new EdgemqError(ERROR_CODES.BRIDGE_FAILED, `bridge ${spec.name}: cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check the path and that the edgemq user may read it`, { cause: err })
    }
  }
  if (spec.auth.passwordFile !== undefined) {
    // First line only, without its newline: `echo secret > file` must work.
    const text = (await read(spec.auth.passwordFile, 'auth.passwordFile')).toString('utf8')
    secrets.password = Buffer.from(text.split(/\r?\n/)[0], 'utf8')
  } else if (spec.auth.passwordEnv !== undefined) {
    const value = env[spec.auth.passwordEnv]
    if (value === undefined) throw new EdgemqError(ERROR_CODES.BRIDGE_FAILED, `bridge ${spec.name}: environment variable ${spec.auth.passwordEnv} (auth.passwordEnv) is not set; set it in the service environment or use auth.passwordFile`)
    secrets.password = Buffer.from(value, 'utf8')
  }
  if (spec.tls.ca !== undefined) secrets.ca = await read(spec.tls.ca, 'tls.ca')
  if (spec.tls.cert !== undefined) secrets.cert = await read(spec.tls.cert, 'tls.cert')
  if (spec.tls.key !== undefined) secrets.key = await read(spec.tls.key, 'tls.key')
  return secrets
}
