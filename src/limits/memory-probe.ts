// Reads how much memory the broker uses: the process RSS, and when it runs in
// a memory cgroup (v1 or v2), the cgroup's usage minus its inactive file
// cache (the "working set" the kernel cannot just drop, which is what the OOM
// killer acts on), and the V8 heap against its own limit. Read on a timer, never per packet.
import { readFileSync } from 'node:fs'
import { getHeapStatistics } from 'node:v8'

/** One memory reading in bytes. */
export interface MemorySample {
  rss: number
  /** Working set of the cgroup, when the process is in one with a limit. */
  cgroupUsed?: number
  /** The cgroup's limit, when there is one. */
  cgroupLimit?: number
  /** V8 heap in use and its limit (--max-old-space-size): the heap can run out before RSS reaches a mark. */
  heapUsed?: number
  heapLimit?: number
  /** What the budget compares with its marks: cgroupUsed under a capped cgroup, else rss. */
  used: number
}

/** Reads files; injectable for tests. */
export type ReadText = (path: string) => string | undefined

const readText: ReadText = (path) => {
  try { return readFileSync(path, 'utf8') } catch { return undefined }
}

// Limits this large mean "no limit" (cgroup v1 prints PAGE_COUNTER_MAX pages).
const NO_LIMIT = 2 ** 60

/** Where this process's memory cgroup lives, from /proc/self/cgroup; undefined when it is in none. */
export function findMemoryCgroup (read: ReadText = readText): { version: 1 | 2, dir: string } | undefined {
  const text = read('/proc/self/cgroup')
  if (text === undefined) return undefined
  for (const line of text.split('\n')) {
    const [, controllers, path] = line.split(':')
    if (path === undefined) continue
    if (controllers.split(',').includes('memory')) return { version: 1, dir: `/sys/fs/cgroup/memory${path === '/' ? '' : path}` }
  }
  for (const line of text.split('\n')) {
    const [id, controllers, path] = line.split(':')
    if (id === '0' && controllers === '' && path !== undefined && read('/sys/fs/cgroup/cgroup.controllers') !== undefined) {
      return { version: 2, dir: `/sys/fs/cgroup${path === '/' ? '' : path}` }
    }
  }
  return undefined
}

/** Reads the cgroup's working set and limit; undefined when it has no limit. */
export function readCgroupMemory (cg: { version: 1 | 2, dir: string }, read: ReadText = readText): { used: number, limit: number } | undefined {
  const num = (file: string): number | undefined => {
    const t = read(`${cg.dir}/${file}`)?.trim()
    if (t === undefined || t === 'max') return undefined
    const n = Number(t)
    return Number.isFinite(n) ? n : undefined
  }
  const stat = (key: string): number => {
    const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(read(`${cg.dir}/memory.stat`) ?? '')
    return m === null ? 0 : Number(m[1])
  }
  const limit = cg.version === 1 ? num('memory.limit_in_bytes') : num('memory.max')
  const usage = cg.version === 1 ? num('memory.usage_in_bytes') : num('memory.current')
  if (limit === undefined || limit >= NO_LIMIT || usage === undefined) return undefined
  const inactiveFile = cg.version === 1 ? stat('total_inactive_file') : stat('inactive_file')
  return { used: Math.max(0, usage - inactiveFile), limit }
}

/** A probe bound to this process: finds its cgroup once, then reads on each call. */
export function createMemoryProbe (read: ReadText = readText, rss: () => number = () => process.memoryUsage.rss(), heap: () => { used: number, limit: number } | undefined = readHeap): () => MemorySample {
  const cg = findMemoryCgroup(read)
  return () => {
    const r = rss()
    const c = cg === undefined ? undefined : readCgroupMemory(cg, read)
    const h = heap()
    // Under a cgroup its working set is what the OOM killer counts; RSS also counts shared pages
    // (the node binary, libraries) charged to whichever group touched them first.
    return { rss: r, cgroupUsed: c?.used, cgroupLimit: c?.limit, heapUsed: h?.used, heapLimit: h?.limit, used: c?.used ?? r }
  }
}

function readHeap (): { used: number, limit: number } {
  const s = getHeapStatistics()
  return { used: s.used_heap_size, limit: s.heap_size_limit }
}

/**
 * The reading the budget compares with its marks: memory used, or the heap's
 * share of its own limit scaled to the cap when that is higher (a heap 80%
 * full is as close to a crash as RSS at 80% of the cap).
 */
export function effectiveUse (sample: MemorySample, capBytes: number): number {
  const heapShare = sample.heapUsed !== undefined && sample.heapLimit !== undefined && sample.heapLimit > 0 && capBytes > 0 ? sample.heapUsed / sample.heapLimit * capBytes : 0
  return Math.max(sample.used, heapShare)
}
