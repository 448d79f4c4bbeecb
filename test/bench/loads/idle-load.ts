// Idle connections: CONNECT with a long keepalive (600 s: no PINGREQ is due
// while the harness measures), then silence.
// The links stay open in this process until closeIdle, so the harness can read
// the broker's memory with exactly this many clients connected.
import { performance } from 'node:perf_hooks'
import { MqttLink, mapLimit } from '../mqtt-link.ts'
import { round } from '../stats.ts'

const open: MqttLink[] = []

/** Opens `count` more idle connections, `concurrency` handshakes at a time; returns how many are open in all. */
export async function openIdle (p: { port: number, count: number, concurrency: number }): Promise<{ open: number, ms: number }> {
  const started = performance.now()
  const base = open.length
  await mapLimit(p.count, p.concurrency, async (i) => {
    const link = await MqttLink.open({ port: p.port, clientId: `idle-${base + i}` })
    open.push(link)
  })
  return { open: open.length, ms: round(performance.now() - started, 0) }
}

/** How many idle links the broker has closed so far (should be none). */
export function countClosedIdle (): { closed: number } {
  return { closed: open.filter((l) => l.socket.destroyed).length }
}

/** Drops every idle connection with a TCP reset, so 10k client ports are not left in TIME_WAIT. */
export function closeIdle (): { closed: number } {
  const count = open.length
  for (const link of open) link.reset()
  open.length = 0
  return { closed: count }
}
