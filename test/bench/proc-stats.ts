// What the harness reads about a broker process from /proc (Linux only): memory,
// disk writes, CPU time, and which process owns a listening socket. Reading the
// kernel's own counters keeps the broker unaware that it is being measured.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'

/** USER_HZ: /proc/PID/stat counts CPU time in these ticks (100 on every Linux ABI Node runs on). */
export const CLOCK_TICKS_PER_SECOND = 100

function readOrUndefined (path: string): string | undefined {
  try { return readFileSync(path, 'utf8') } catch { return undefined }
}

/** Resident and peak resident memory in KiB (VmRSS, VmHWM of /proc/PID/status); undefined once gone. */
export function readMemory (pid: number): { rssKiB: number, hwmKiB: number } | undefined {
  const text = readOrUndefined(`/proc/${pid}/status`)
  if (text === undefined) return undefined
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(text)
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(text)
  if (rss === null || hwm === null) return undefined // a zombie has no memory lines
  return { rssKiB: Number(rss[1]), hwmKiB: Number(hwm[1]) }
}

/** Bytes the process caused to be written to storage (write_bytes) and passed to write() (wchar). */
export function readIo (pid: number): { writeBytes: number, wchar: number } | undefined {
  const text = readOrUndefined(`/proc/${pid}/io`)
  if (text === undefined) return undefined
  return parseIo(text)
}

/** Parses the write counters out of /proc/PID/io text. */
export function parseIo (text: string): { writeBytes: number, wchar: number } | undefined {
  const writeBytes = /^write_bytes:\s*(\d+)/m.exec(text)
  const wchar = /^wchar:\s*(\d+)/m.exec(text)
  if (writeBytes === null || wchar === null) return undefined
  return { writeBytes: Number(writeBytes[1]), wchar: Number(wchar[1]) }
}

/**
 * Connections the kernel dropped because a listener's accept queue was full
 * (TcpExt ListenOverflows of /proc/net/netstat, for every socket of this
 * network namespace); undefined where the file is missing.
 */
export function readListenOverflows (): number | undefined {
  const text = readOrUndefined('/proc/net/netstat')
  return text === undefined ? undefined : parseListenOverflows(text)
}

/** ListenOverflows out of /proc/net/netstat text: a "TcpExt:" line of names, then one of values. */
export function parseListenOverflows (text: string): number | undefined {
  const lines = text.split('\n').filter((l) => l.startsWith('TcpExt:'))
  if (lines.length < 2) return undefined
  const names = lines[0].split(/\s+/)
  const values = lines[1].split(/\s+/)
  const at = names.indexOf('ListenOverflows')
  return at < 0 || values[at] === undefined ? undefined : Number(values[at])
}

/** User plus system CPU time of the process in clock ticks (fields 14 and 15 of /proc/PID/stat). */
export function readCpuTicks (pid: number): number | undefined {
  const text = readOrUndefined(`/proc/${pid}/stat`)
  if (text === undefined) return undefined
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

/** Nanoseconds the process has spent runnable but waiting for a CPU (field 2 of /proc/PID/schedstat). */
export function readRunQueueWaitNs (pid: number): number | undefined {
  const text = readOrUndefined(`/proc/${pid}/schedstat`)
  if (text === undefined) return undefined
  return Number(text.split(' ')[1])
}

function readParentPid (pid: number): number | undefined {
  const text = readOrUndefined(`/proc/${pid}/stat`)
  if (text === undefined) return undefined
  return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1])
}

/** The process ids under `rootPid` (not including it), from the ppid links in /proc. */
export function listDescendants (rootPid: number): number[] {
  const parents = new Map<number, number>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const ppid = readParentPid(Number(name))
    if (ppid !== undefined) parents.set(Number(name), ppid)
  }
  const found: number[] = []
  const frontier = [rootPid]
  while (frontier.length > 0) {
    const parent = frontier.pop() as number
    for (const [pid, ppid] of parents) {
      if (ppid === parent) { found.push(pid); frontier.push(pid) }
    }
  }
  return found
}

/** The inode of the socket listening on 127.0.0.1:port (or 0.0.0.0:port), from /proc/net/tcp. */
export function findListeningInode (port: number): number | undefined {
  const text = readOrUndefined('/proc/net/tcp') ?? ''
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/)
    if (cols.length < 10 || cols[3] !== '0A') continue // 0A = TCP_LISTEN
    const [address, localPort] = cols[1].split(':')
    if (localPort === hexPort && (address === '0100007F' || address === '00000000')) return Number(cols[9])
  }
  return undefined
}

/** Which of `candidates` holds the socket with this inode open, by reading their fd links. */
export function findSocketOwner (inode: number, candidates: readonly number[]): number | undefined {
  const target = `socket:[${inode}]`
  for (const pid of candidates) {
    let fds: string[]
    try { fds = readdirSync(`/proc/${pid}/fd`) } catch { continue }
    for (const fd of fds) {
      try { if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return pid } catch { /* fd closed meanwhile */ }
    }
  }
  return undefined
}
