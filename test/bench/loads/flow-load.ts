// Fan-in and fan-out throughput: P publishers, S subscribers all subscribed to
// every publisher's topic, run closed-loop. At most `window` deliveries are
// outstanding (sent × S − received) at any time, so the rate measured is what
// the broker sustains, not how fast it can grow a queue in RAM: a blast
// without a window measures memory growth and makes peak RSS meaningless.
import { performance } from 'node:perf_hooks'
import { MqttLink, mapLimit } from '../mqtt-link.ts'
import { PACKET, encodePublish, flushPubacks, publishLayout } from '../mqtt-wire.ts'
import { readCpuTicks, readRunQueueWaitNs, CLOCK_TICKS_PER_SECOND } from '../proc-stats.ts'
import { cpuPercent, round } from '../stats.ts'

/** One throughput run. */
export interface FlowParams {
  port: number
  /** The broker's listening process, for its CPU time over the window. */
  brokerPid: number
  publishers: number
  subscribers: number
  qos: 0 | 1
  payloadBytes: number
  warmupMs: number
  durationMs: number
  /** Most deliveries outstanding at any time. */
  window: number
  /** Most unacknowledged QoS 1 PUBLISH packets per publisher. */
  pubInflight: number
}

/** What a throughput run measured. */
export interface FlowResult {
  /** Messages received by all subscribers per second over the measured window. */
  deliveriesPerSecond: number
  /** Messages published per second over the window (deliveries / subscribers). */
  publishesPerSecond: number
  windowSeconds: number
  sent: number
  delivered: number
  /** Deliveries that never arrived (sent × subscribers − delivered after a 3 s grace). */
  lost: number
  /** No delivery for 3 s while sending: the broker stopped forwarding. */
  stalled: boolean
  brokerCpuPercent: number
  loadCpuPercent: number
  /**
   * Percent of the window the broker was runnable but waiting for its core
   * (schedstat): high values mean other processes on a shared machine took
   * the core, and the absolute figures are low for that reason.
   */
  brokerWaitPercent: number
}

const STALL_MS = 3_000
const QOS0_WRITE_OFF_MS = 500

/** Runs one closed-loop throughput measurement and closes every connection it opened. */
export async function runFlow (p: FlowParams): Promise<FlowResult> {
  const root = `bench/flow/${process.pid}-${Date.now() % 100_000}`
  const payload = Buffer.alloc(p.payloadBytes, 0x61)
  let delivered = 0
  let sent = 0
  let writtenOff = 0 // QoS 0 deliveries given up on, so a drop cannot shrink the window forever
  let sending = false
  let pumpScheduled = false
  let lastProgress = performance.now()
  const schedulePump = (): void => {
    if (pumpScheduled || !sending) return
    pumpScheduled = true
    setImmediate(pump)
  }

  const acks: number[] = []
  const subscribers = await mapLimit(p.subscribers, 50, async (i) => {
    const link = await MqttLink.open({
      port: p.port,
      clientId: `flow-sub-${i}`,
      onFrame: (type, flags, buf, start) => {
        if (type !== PACKET.PUBLISH) return
        delivered++
        if ((flags & 0x06) !== 0) acks.push(publishLayout(buf, flags, start).packetId)
      },
      afterChunk: (self) => {
        lastProgress = performance.now()
        flushPubacks(self.socket, acks)
        schedulePump()
      }
    })
    await link.subscribe(`${root}/#`, p.qos)
    return link
  })

  const inflight = new Int32Array(p.publishers)
  const nextId = new Int32Array(p.publishers).fill(1)
  const windowMessages = Math.max(1, Math.floor(p.window / p.subscribers))
  const maxShare = Math.max(1, Math.ceil(windowMessages / p.publishers))
  const templates = Array.from({ length: p.publishers }, (_, i) => encodePublish(`${root}/${i}`, payload, p.qos))
  // QoS 0 packets are identical: one pre-filled buffer per publisher, sliced, never mutated.
  const batches = templates.map((t) => p.qos === 0 ? Buffer.concat(Array.from({ length: maxShare }, () => t.bytes)) : t.bytes)
  const publishers = await mapLimit(p.publishers, 50, async (i) => MqttLink.open({
    port: p.port,
    clientId: `flow-pub-${i}`,
    onFrame: (type) => { if (type === PACKET.PUBACK) inflight[i]-- },
    afterChunk: schedulePump
  }))

  let rr = 0
  const threshold = Math.max(1, Math.floor(windowMessages / 4))
  function pump (): void {
    pumpScheduled = false
    if (!sending) return
    let room = Math.floor((p.window - (sent * p.subscribers - delivered - writtenOff)) / p.subscribers)
    if (room < threshold) return
    const share = Math.min(maxShare, Math.ceil(room / p.publishers))
    for (let k = 0; k < p.publishers && room > 0; k++) {
      const i = (rr + k) % p.publishers
      let count = Math.min(share, room)
      if (p.qos === 1) count = Math.min(count, p.pubInflight - inflight[i])
      if (count <= 0) continue
      const { bytes, packetIdOffset } = templates[i]
      if (p.qos === 0) {
        publishers[i].socket.write(batches[i].subarray(0, count * bytes.length))
      } else {
        const out = Buffer.allocUnsafe(count * bytes.length)
        for (let j = 0; j < count; j++) {
          bytes.copy(out, j * bytes.length)
          out.writeUInt16BE(nextId[i], j * bytes.length + packetIdOffset)
          nextId[i] = nextId[i] === 65_535 ? 1 : nextId[i] + 1
        }
        inflight[i] += count
        publishers[i].socket.write(out)
      }
      sent += count
      room -= count
    }
    rr = (rr + 1) % p.publishers
  }

  const watchdog = setInterval(() => {
    const idle = performance.now() - lastProgress
    const outstanding = sent * p.subscribers - delivered - writtenOff
    if (p.qos === 0 && sending && outstanding > 0 && idle > QOS0_WRITE_OFF_MS) {
      writtenOff += outstanding
      lastProgress = performance.now()
      schedulePump()
    }
  }, 100)

  try {
    sending = true
    lastProgress = performance.now()
    pump()
    await waitUnlessStalled(p.warmupMs, () => lastProgress)
    const start = { at: performance.now(), delivered, sent, ticks: readCpuTicks(p.brokerPid) ?? 0, waitNs: readRunQueueWaitNs(p.brokerPid) ?? 0, cpu: process.cpuUsage() }
    const stalled = !(await waitUnlessStalled(p.durationMs, () => lastProgress))
    const end = { at: performance.now(), delivered, sent, ticks: readCpuTicks(p.brokerPid) ?? 0, waitNs: readRunQueueWaitNs(p.brokerPid) ?? 0, cpu: process.cpuUsage(start.cpu) }
    sending = false
    const graceUntil = performance.now() + 3_000
    while (sent * p.subscribers > delivered && performance.now() < graceUntil) await sleep(20)
    const seconds = (end.at - start.at) / 1000
    const deliveries = end.delivered - start.delivered
    return {
      deliveriesPerSecond: round(deliveries / seconds, 0),
      publishesPerSecond: round(deliveries / p.subscribers / seconds, 0),
      windowSeconds: round(seconds, 3),
      sent,
      delivered,
      lost: Math.max(0, sent * p.subscribers - delivered),
      stalled,
      brokerCpuPercent: cpuPercent((end.ticks - start.ticks) / CLOCK_TICKS_PER_SECOND, seconds),
      loadCpuPercent: cpuPercent((end.cpu.user + end.cpu.system) / 1e6, seconds),
      brokerWaitPercent: cpuPercent((end.waitNs - start.waitNs) / 1e9, seconds)
    }
  } finally {
    sending = false
    clearInterval(watchdog)
    for (const link of [...publishers, ...subscribers]) link.disconnect()
    await Promise.all([...publishers, ...subscribers].map((l) => l.closed(3_000)))
  }
}

/** Waits `ms`; returns false early when `lastProgress` is older than STALL_MS. */
async function waitUnlessStalled (ms: number, lastProgress: () => number): Promise<boolean> {
  const until = performance.now() + ms
  while (performance.now() < until) {
    await sleep(Math.min(50, until - performance.now()))
    if (performance.now() - lastProgress() > STALL_MS) return false
  }
  return true
}

function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
}
