// A/B of connection setup (issue 10): one broker command per argument, run
// back to back and alternating, each on a fresh broker: 500 warm-up
// connections, then N more, 100 handshakes at a time (the idle scenario's
// load), optionally each followed by one SUBSCRIBE; per run the connect rate
// and the broker's CPU per connect (user + system, /proc/PID/stat). CPU per
// connect is the figure to compare on a shared machine (rates swing with
// other jobs).
//   node --import tsx test/bench/connect-ab.ts [--runs N] [--connects N] [--subscribe] "node /tmp/a/edgemq.mjs start" "node /tmp/b/edgemq.mjs start"
// Each command gets `-c <config>` appended (the bench's edgemq config); the
// word `aedes` runs test/bench/plain-aedes-server.mjs instead. The broker runs
// pinned to core 0, the load on core 1.
import { spawnSync } from 'node:child_process'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { BrokerProcess, sleep } from './broker-process.ts'
import { renderEdgemqConfig } from './broker-configs.ts'
import { MqttLink, mapLimit } from './mqtt-link.ts'
import { CLOCK_TICKS_PER_SECOND } from './proc-stats.ts'
import { freePort } from '../helpers/free-port.ts'
import { parseAbArgs } from './ab-args.ts'

const here = dirname(fileURLToPath(import.meta.url))


const args = parseAbArgs()
const runs = args.number('--runs', 2)
const connects = args.number('--connects', 9000)
const subscribe = args.flag('--subscribe')
const commands = args.commands('connect-ab.ts [--runs N] [--connects N] [--subscribe] "cmd A" ["cmd B" ...]')
spawnSync('taskset', ['-pc', '1', String(process.pid)]) // the load off the broker's core

/** Opens `count` links (ids `prefix-i`), 100 at a time, each subscribing to a filter of its own when asked. */
async function openLinks (port: number, prefix: string, count: number, links: MqttLink[]): Promise<void> {
  await mapLimit(count, 100, async (i) => {
    const link = await MqttLink.open({ port, clientId: `${prefix}-${i}` })
    if (subscribe) await link.subscribe(`sensors/${prefix}${i}/+/temp`, 0)
    links.push(link)
  })
}

const results = new Map<string, Array<{ rate: number, cpuUs: number }>>()
for (let run = 0; run < runs; run++) {
  for (const command of run % 2 === 0 ? commands : [...commands].reverse()) {
    const dir = await mkdtemp(join(tmpdir(), 'edgemq-connect-ab-'))
    const links: MqttLink[] = []
    try {
      await mkdir(join(dir, 'data'))
      const port = await freePort()
      const config = join(dir, 'edgemq.yaml')
      await writeFile(config, renderEdgemqConfig({ port, persistence: false, dir, maxInflight: 32 }, 'generic-x64'))
      const words = command.split(' ')
      const aedes = words[words.length - 1] === 'aedes'
      const broker = await BrokerProcess.start({
        label: command,
        command: aedes ? process.execPath : words[0],
        args: aedes ? [join(here, 'plain-aedes-server.mjs'), String(port)] : [...words.slice(1), '-c', config],
        cwd: process.cwd(),
        env: { ...process.env, EDGEMQ_NO_REEXEC: '1' },
        port,
        cores: '0',
        nofile: 20_000
      })
      await sleep(1000)
      await openLinks(port, 'w', 500, links)
      await sleep(300)
      const ticks = broker.cpuTicks()
      const started = performance.now()
      await openLinks(port, 'c', connects, links)
      const ms = performance.now() - started
      const cpuUs = (broker.cpuTicks() - ticks) / CLOCK_TICKS_PER_SECOND * 1e6 / connects
      const r = { rate: Math.round(connects / ms * 1000), cpuUs: Math.round(cpuUs) }
      results.set(command, [...(results.get(command) ?? []), r])
      console.log(`${command}: ${r.rate} connects/s${subscribe ? ' (each with a SUBSCRIBE)' : ''}, broker CPU ${r.cpuUs} us per connect`)
      for (const l of links) l.reset()
      await broker.stop()
    } finally {
      for (const l of links) l.reset()
      await rm(dir, { recursive: true, force: true })
    }
  }
}
for (const [command, rs] of results) {
  console.log(`${command}\n  connects/s ${rs.map((r) => r.rate).join(' / ')}\n  CPU us per connect ${rs.map((r) => r.cpuUs).join(' / ')}`)
}
