import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createMemoryProbe, effectiveUse, findMemoryCgroup, readCgroupMemory } from '../../src/limits/memory-probe.ts'

const files = (map: Record<string, string>) => (p: string): string | undefined => map[p]

test('finds a cgroup v1 memory group from /proc/self/cgroup', () => {
  const read = files({ '/proc/self/cgroup': '12:pids:/x\n4:memory:/edgemq-test-1\n1:name=systemd:/\n' })
  assert.equal(findMemoryCgroup(read), { version: 1, dir: '/sys/fs/cgroup/memory/edgemq-test-1' })
})

test('finds a cgroup v2 group', () => {
  const read = files({ '/proc/self/cgroup': '0::/system.slice/edgemq.service\n', '/sys/fs/cgroup/cgroup.controllers': 'memory pids' })
  assert.equal(findMemoryCgroup(read), { version: 2, dir: '/sys/fs/cgroup/system.slice/edgemq.service' })
})

test('working set = usage minus inactive file cache; no limit means no reading', () => {
  const dir = '/sys/fs/cgroup/memory/g'
  const read = files({ [`${dir}/memory.limit_in_bytes`]: '167772160\n', [`${dir}/memory.usage_in_bytes`]: '100000000\n', [`${dir}/memory.stat`]: 'cache 5\ntotal_inactive_file 30000000\n' })
  assert.equal(readCgroupMemory({ version: 1, dir }, read), { used: 70_000_000, limit: 167_772_160 })
  const unlimited = files({ [`${dir}/memory.limit_in_bytes`]: '9223372036854771712\n', [`${dir}/memory.usage_in_bytes`]: '1\n' })
  assert.is(readCgroupMemory({ version: 1, dir }, unlimited), undefined)
})

test('under a capped cgroup the probe reports its working set, else RSS', () => {
  const dir = '/sys/fs/cgroup/memory/g'
  const read = files({ '/proc/self/cgroup': '4:memory:/g\n', [`${dir}/memory.limit_in_bytes`]: '1000\n', [`${dir}/memory.usage_in_bytes`]: '900\n', [`${dir}/memory.stat`]: 'total_inactive_file 100\n' })
  assert.equal(createMemoryProbe(read, () => 5000, () => undefined)(), { rss: 5000, cgroupUsed: 800, cgroupLimit: 1000, heapUsed: undefined, heapLimit: undefined, used: 800 })
  assert.is(createMemoryProbe(files({}), () => 42, () => undefined)().used, 42)
})

test('a nearly full V8 heap counts as its share of the cap', () => {
  assert.is(effectiveUse({ rss: 50, used: 50, heapUsed: 80, heapLimit: 100 }, 1000), 800)
  assert.is(effectiveUse({ rss: 900, used: 900, heapUsed: 10, heapLimit: 100 }, 1000), 900)
  assert.is(effectiveUse({ rss: 50, used: 50, heapUsed: 80, heapLimit: 100 }, 0), 50)
})

test.run()
