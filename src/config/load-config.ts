// defaults ← board profile ← config file ← CLI flags, validated in one pass
// that reports every problem (file:line, key, value, fix), then frozen.
import { isIP } from 'node:net'
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import { detectBoard, getBoard, type BoardProbe, type BoardProfile } from './boards.ts'
import type { ConfigFile } from './config-file.ts'
import type { OptionSpec } from './option-spec.ts'
import { OPTION_TABLE } from './option-table.ts'
import type { EdgemqConfig, ListenerConfig } from './types.ts'
import { checkDurationUnit, formatDuration, formatSize, parseDuration, parseSize } from './units.ts'

/** Which layer a value came from, and where in it. */
export interface ValueSource {
  layer: 'default' | 'board' | 'file' | 'flag'
  /** file:line for file values, the flag for flags, the board name for board values. */
  where?: string
}

/** Command-line flags that override the file (Mosquitto-style). */
export interface ConfigFlags {
  /** Port of the first listener. */
  port?: number | string
  /** Bind address of the first listener. */
  host?: string
  /** persistence.path */
  data?: string
  board?: string
  /** -v: log at debug level. */
  verbose?: boolean
}

/** The result of resolving: the frozen config and where each value came from. */
export interface ResolvedConfig {
  config: EdgemqConfig
  sources: ReadonlyMap<string, ValueSource>
  board: BoardProfile
  boardReason: string
}

const DEFAULT_PORTS: Record<string, number> = { tcp: 1883, tls: 8883, ws: 8080, wss: 8081, http: 9883, https: 9884 }

/** Builds the effective config; throws EDGEMQ_ERR_CONFIG_INVALID listing every problem. */
export async function resolveConfig (options: { file?: ConfigFile, flags?: ConfigFlags, probe?: BoardProbe } = {}): Promise<ResolvedConfig> {
  const { file, flags = {} } = options
  const problems: string[] = []
  const sources = new Map<string, ValueSource>()
  const fileData = file?.data ?? {}
  const where = (path: ReadonlyArray<string | number>): string => file?.locate(path) ?? 'defaults'

  // 1. the board
  const boardRequest = flags.board ?? (typeof fileData.board === 'string' ? fileData.board : undefined) ?? 'auto'
  let board: BoardProfile
  let boardReason: string
  if (boardRequest === 'auto') {
    ({ board, reason: boardReason } = await detectBoard(options.probe))
  } else {
    try {
      board = getBoard(boardRequest)
      boardReason = flags.board !== undefined ? '--board' : `set in ${where(['board'])}`
    } catch (err) {
      problems.push(`${(err as Error).message} (${flags.board !== undefined ? '--board' : where(['board'])})`)
      board = getBoard('generic')
      boardReason = 'fallback'
    }
  }
  problems.push(...checkBoardSettings(board))

  // 2. unknown keys in the file
  checkUnknownKeys(fileData, [], problems, where)

  // 3. every option: flag > file > board > default
  const flagValues = new Map<string, { value: unknown, flag: string }>()
  if (flags.data !== undefined) flagValues.set('persistence.path', { value: flags.data, flag: '--data' })
  if (flags.board !== undefined) flagValues.set('board', { value: flags.board, flag: '--board' })
  if (flags.verbose === true) flagValues.set('logging.level', { value: 'debug', flag: '-v' })

  const config: Record<string, unknown> = {}
  for (const option of OPTION_TABLE) {
    const path = option.key.split('.')
    const fromFlag = flagValues.get(option.key)
    const fromFile = getPath(fileData, path)
    const fromBoard = option.board === true ? getPath(board.settings, path) : undefined
    let raw: unknown
    let source: ValueSource
    if (fromFlag !== undefined) { raw = fromFlag.value; source = { layer: 'flag', where: fromFlag.flag } } else if (fromFile !== undefined) { raw = fromFile; source = { layer: 'file', where: where(path) } } else if (fromBoard !== undefined) { raw = fromBoard; source = { layer: 'board', where: board.name } } else { raw = option.default; source = { layer: 'default' } }
    if (raw === undefined) continue
    if (option.key === 'board' && raw === 'auto') raw = 'auto'
    const at = source.layer === 'file' ? source.where : source.layer === 'flag' ? source.where : source.layer === 'board' ? `board ${board.name}` : 'default'
    let value: unknown
    if (option.type === 'list') {
      value = option.key === 'listeners'
        ? resolveListeners(raw, option, source.layer === 'file' ? (i, f) => where(['listeners', i, ...(f === undefined ? [] : [f])]) : () => at ?? 'default', problems)
        : resolveList(raw, option, (i, f) => source.layer === 'file' ? where([...path, i, ...(f === undefined ? [] : [f])]) : at ?? 'default', problems)
      // a list row may check the whole list (a bridge needs a name and a url)
      const listProblem = value === undefined ? undefined : option.check?.(value)
      if (listProblem !== undefined) problems.push(`${option.key} must be ${listProblem} (${at ?? 'default'})`)
    } else {
      value = parseOption(option, raw, option.key, at ?? 'default', problems)
    }
    if (value === undefined) continue
    setPath(config, path, value)
    sources.set(option.key, source)
  }

  // 4. flags on the first listener
  const listeners = config.listeners as ListenerConfig[] | undefined
  if (listeners !== undefined && listeners.length > 0) {
    if (flags.port !== undefined) {
      const port = Number(flags.port)
      if (!Number.isInteger(port) || port < 0 || port > 65_535) problems.push(`-p/--port must be a port number from 0 to 65535: got "${flags.port}" (command line)`)
      else { listeners[0].port = port; sources.set('listeners[0].port', { layer: 'flag', where: '-p' }) }
    }
    if (flags.host !== undefined) {
      listeners[0].host = flags.host
      if (!listeners[0].explicitAnonymous) listeners[0].allowAnonymous = isLoopback(flags.host)
      sources.set('listeners[0].host', { layer: 'flag', where: '--host' })
    }
    for (const l of listeners) delete l.explicitAnonymous
  }
  if (config.board === 'auto' || config.board === undefined) config.board = board.name

  if (problems.length > 0) {
    throw new EdgemqError(ERROR_CODES.CONFIG_INVALID, `config has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n  ${problems.join('\n  ')}`, { problems })
  }
  return { config: deepFreeze(config) as EdgemqConfig, sources, board, boardReason }
}

/** Problems with a board's settings: only board-settable option keys. */
export function checkBoardSettings (board: BoardProfile): string[] {
  const problems: string[] = []
  const walk = (obj: Record<string, unknown>, prefix: string[]): void => {
    for (const [k, v] of Object.entries(obj)) {
      const key = [...prefix, k].join('.')
      const option = OPTION_TABLE.find((o) => o.key === key)
      if (option !== undefined) {
        if (option.board !== true) problems.push(`board ${board.name} sets ${key}, which a board may not set (boards set resource limits only, never listeners or auth)`)
        else parseOption(option, v, key, `board ${board.name}`, problems)
      } else if (typeof v === 'object' && v !== null && !Array.isArray(v)) walk(v as Record<string, unknown>, [...prefix, k])
      else problems.push(`board ${board.name} sets unknown key ${key}`)
    }
  }
  walk(board.settings, [])
  return problems
}

function checkUnknownKeys (obj: Record<string, unknown>, prefix: string[], problems: string[], where: (p: ReadonlyArray<string | number>) => string): void {
  for (const [k, v] of Object.entries(obj)) {
    const path = [...prefix, k]
    const key = path.join('.')
    if (OPTION_TABLE.some((o) => o.key === key)) continue
    const isSection = OPTION_TABLE.some((o) => o.key.startsWith(key + '.'))
    if (isSection && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      checkUnknownKeys(v as Record<string, unknown>, path, problems, where)
      continue
    }
    const hint = suggest(key, OPTION_TABLE.map((o) => o.key))
    problems.push(`unknown key ${key} (${where(path)}): ${hint === undefined ? 'remove it (edgemq config --explain lists every key)' : `did you mean ${hint}?`}`)
  }
}

function resolveListeners (raw: unknown, option: OptionSpec, at: (i: number, field?: string) => string, problems: string[]): ListenerConfig[] | undefined {
  const items = resolveList(raw, option, at, problems)
  if (items === undefined) return undefined
  const names = new Set<string>()
  return items.map((item, i) => {
    const l = item as Record<string, unknown>
    const type = l.type as string
    if (l.port === undefined) l.port = DEFAULT_PORTS[type]
    if (l.name === undefined) l.name = `${type}-${l.port as number}`
    if (names.has(l.name as string)) problems.push(`listeners[${i}].name must be unique: got "${l.name as string}" twice (${at(i, 'name')})`)
    names.add(l.name as string)
    l.explicitAnonymous = l.allowAnonymous !== undefined
    if (l.allowAnonymous === undefined) l.allowAnonymous = isLoopback(l.host as string)
    if (l.openHealth === undefined && (type === 'http' || type === 'https')) l.openHealth = isLoopback(l.host as string)
    if ((type === 'tls' || type === 'wss' || type === 'https') && (l.cert === undefined || l.key === undefined)) {
      problems.push(`listeners[${i}] (${type}) needs cert and key: set cert: /path/to/cert.pem and key: /path/to/key.pem (${at(i)})`)
    }
    if ((l.requireCertificate === true || l.requestCertificate === true) && l.ca === undefined) {
      problems.push(`listeners[${i}] asks for client certificates but has no ca: set ca: /path/to/ca.pem (${at(i)})`)
    }
    if (l.requireCertificate === true) l.requestCertificate = true
    const httpOnly = ['tokenFile', 'apiGroup', 'openHealth'].filter((k) => item[k] !== undefined)
    if (httpOnly.length > 0 && type !== 'http' && type !== 'https') {
      problems.push(`listeners[${i}] (${type}) sets ${httpOnly.join(', ')}, which only http and https listeners read: remove it or set type: http (${at(i, httpOnly[0])})`)
    }
    if (l.proxyProtocol === true && type !== 'tcp') {
      problems.push(`listeners[${i}] (${type}) sets proxyProtocol, which edgemq reads on tcp listeners only: terminate TLS/WebSocket on the balancer and use a tcp listener, or remove proxyProtocol (${at(i, 'proxyProtocol')})`)
    }
    return l as ListenerConfig
  })
}

function resolveList (raw: unknown, option: OptionSpec, at: (i: number, field?: string) => string, problems: string[]): Array<Record<string, unknown>> | undefined {
  if (!Array.isArray(raw)) {
    problems.push(`${option.key} must be a list: got ${JSON.stringify(raw)} (${at(0)})`)
    return undefined
  }
  const fields = option.fields ?? []
  return raw.map((item, i) => {
    const out: Record<string, unknown> = {}
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      problems.push(`${option.key}[${i}] must be a mapping of ${fields.map((f) => f.key).join(', ')}: got ${JSON.stringify(item)} (${at(i)})`)
      return out
    }
    for (const [k, v] of Object.entries(item as Record<string, unknown>)) {
      const field = fields.find((f) => f.key === k)
      if (field === undefined) {
        const hint = suggest(k, fields.map((f) => f.key))
        problems.push(`unknown key ${option.key}[${i}].${k} (${at(i, k)}): ${hint === undefined ? `use one of ${fields.map((f) => f.key).join(', ')}` : `did you mean ${hint}?`}`)
        continue
      }
      const value = parseOption(field, v, `${option.key}[${i}].${k}`, at(i, k), problems)
      if (value !== undefined) out[k] = value
    }
    for (const f of fields) {
      if (out[f.key] === undefined && f.default !== undefined) out[f.key] = parseOption(f, f.default, f.key, 'default', problems)
    }
    return out
  })
}

/** Parses one value by its option type; pushes a problem and returns undefined when it does not fit. */
export function parseOption (option: OptionSpec, raw: unknown, key: string, at: string, problems: string[]): unknown {
  const bad = (expect: string): undefined => { problems.push(`${key} must be ${expect}: got ${JSON.stringify(raw)} (${at})`); return undefined }
  let value: unknown
  switch (option.type) {
    case 'string':
    case 'path':
      if (typeof raw !== 'string' || raw.length === 0) return bad(option.type === 'path' ? 'a file or folder path' : 'a non-empty string')
      value = raw
      break
    case 'int':
    case 'number': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw
      if (typeof n !== 'number' || !Number.isFinite(n) || (option.type === 'int' && !Number.isInteger(n))) return bad(option.type === 'int' ? 'a whole number' : 'a number')
      value = n
      break
    }
    case 'bool':
      if (raw === 'true' || raw === 'false') value = raw === 'true'
      else if (typeof raw === 'boolean') value = raw
      else return bad('true or false')
      break
    case 'size':
      value = parseSize(raw)
      if (value === undefined) return bad('a size such as 256KB, 64MB or a number of bytes')
      break
    case 'duration': {
      const unitless = checkDurationUnit(raw)
      if (unitless !== undefined) return bad(unitless)
      value = parseDuration(raw)
      if (value === undefined) return bad('a duration such as 500ms, 30s, 5m or 1h')
      break
    }
    case 'enum':
      if (typeof raw !== 'string' || !(option.values ?? []).includes(raw)) return bad(`one of ${(option.values ?? []).join(', ')}`)
      value = raw
      break
    case 'string[]':
    case 'cidr[]':
      if (!Array.isArray(raw) || raw.some((x) => typeof x !== 'string')) return bad('a list of strings')
      value = [...raw]
      break
    case 'object':
      if (typeof raw !== 'object' || raw === null) return bad('a mapping')
      value = raw
      break
    case 'list':
      value = raw
      break
  }
  if (typeof value === 'number') {
    const show = (n: number): string => option.type === 'size' ? formatSize(n) : option.type === 'duration' ? formatDuration(n) : `${n}${option.unit === undefined ? '' : ' ' + option.unit}`
    if (option.min !== undefined && value < option.min) return bad(`>= ${show(option.min)}`)
    if (option.max !== undefined && value > option.max) return bad(`<= ${show(option.max)}`)
  }
  const extra = option.check?.(value)
  if (extra !== undefined) return bad(extra)
  return value
}

/** Whether an address only listens on this machine. */
export function isLoopback (host: string): boolean {
  if (host === 'localhost' || host === '::1') return true
  return isIP(host) === 4 && host.startsWith('127.')
}

function getPath (obj: unknown, path: readonly string[]): unknown {
  let cur: unknown = obj
  for (const k of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined
    cur = (cur as Record<string, unknown>)[k]
  }
  return cur
}

function setPath (obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = obj
  for (const k of path.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {}
    cur = cur[k] as Record<string, unknown>
  }
  cur[path[path.length - 1]] = value
}

function deepFreeze<T> (obj: T): T {
  if (typeof obj === 'object' && obj !== null && !Object.isFrozen(obj)) {
    Object.freeze(obj)
    for (const v of Object.values(obj)) deepFreeze(v)
  }
  return obj
}

function suggest (key: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase())
    if (d < bestDistance) { bestDistance = d; best = k }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 4)) ? best : undefined
}

function editDistance (a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return row[b.length]
}
