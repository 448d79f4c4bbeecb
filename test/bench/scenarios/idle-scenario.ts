// Scenario 1, idle connections: the broker's RSS with no clients, then with 1k
// (and 10k) silent MQTT connections (CONNECT, keepalive 0), as KiB per connection;
// and how fast the broker takes them (connects/s, its CPU per connect). For
// the brokers that run on Node, also the RSS of a bare `node` holding one
// listening socket: the floor under their figures, which no broker code can
// take off (docs/persistence.md, round 9).
import type { ScenarioRun } from './scenario-context.ts'
import { settledMemory, toMiB } from './scenario-context.ts'
import { CLOCK_TICKS_PER_SECOND } from '../proc-stats.ts'
import { freePort } from '../../helpers/free-port.ts'

/** `node -e` with the port as argv[1]: one listening socket and nothing else. */
const NODE_FLOOR_SCRIPT = "require('node:net').createServer().listen(Number(process.argv[1]), '127.0.0.1')"

/** Measures RSS at 0 and at each idle count of the mode, on one broker. */
export const runIdleScenario: ScenarioRun = async (ctx) => {
  const { broker, launch } = await ctx.startBroker({ persistence: false })
  const metrics: Record<string, number> = {}
  const details: Record<string, unknown> = { pid: broker.pid, startMs: Math.round(broker.startMs) }
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000)) // start-up allocations settle
    const base = await settledMemory(broker)
    metrics['idle.rssNoClients'] = toMiB(base.rssKiB)
    metrics['idle.treeRssNoClients'] = toMiB(base.treeRssKiB)
    details.noClients = base
    if (base.processes > 1) ctx.log(`${ctx.kind}: ${base.processes} processes; the listening one uses ${toMiB(base.rssKiB)} MiB, all together ${toMiB(base.treeRssKiB)} MiB`)
    if (ctx.kind !== 'mosquitto') {
      // the `node` that runs the harness and the brokers, on the broker's core with its limits
      const port = await freePort()
      const floor = await ctx.restartBroker({ ...launch, label: 'bare node', command: process.execPath, args: ['-e', NODE_FLOOR_SCRIPT, String(port)], port })
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      const floorMemory = await settledMemory(floor)
      await floor.stop()
      metrics['idle.rssNodeFloor'] = toMiB(floorMemory.rssKiB)
      details.nodeFloor = floorMemory
    }
    let open = 0
    for (const total of ctx.counts.idle) {
      const ticks = broker.cpuTicks()
      const opened = await ctx.worker.call('openIdle', { port: broker.port, count: total - open, concurrency: 100 })
      // the last step's figures stand: in the full run it is 9k connects onto 1k open ones
      const connects = total - open
      metrics['idle.connectRate'] = Math.round(connects / Math.max(opened.ms, 1) * 1000)
      metrics['idle.cpuPerConnect'] = Math.round((broker.cpuTicks() - ticks) / CLOCK_TICKS_PER_SECOND * 1e6 / connects)
      open = opened.open
      const memory = await settledMemory(broker)
      const { closed } = await ctx.worker.call('countClosedIdle', undefined)
      if (closed > 0) throw new Error(`${ctx.kind} closed ${closed} of ${total} idle connections`)
      const perConnection = Math.round((memory.rssKiB - base.rssKiB) / total * 100) / 100
      const key = `idle.kibPerConn${total >= 1000 ? `${total / 1000}k` : total}`
      metrics[key] = perConnection
      details[`at${total}`] = { ...memory, connectMs: opened.ms, kibPerConnection: perConnection, treeKibPerConnection: Math.round((memory.treeRssKiB - base.treeRssKiB) / total * 100) / 100 }
      ctx.log(`${ctx.kind}: ${total} idle connections, RSS ${toMiB(memory.rssKiB)} MiB, ${perConnection} KiB each`)
    }
  } finally {
    await ctx.worker.call('closeIdle', undefined)
  }
  details.exit = await broker.stop()
  return { metrics, details }
}

