// Publish-to-delivery latency at a fixed rate: one QoS 1 publisher paced by
// the clock, one QoS 1 subscriber, both in this process so one monotonic clock
// (performance.now) stamps the payload at send and reads it at delivery.
import { performance } from 'node:perf_hooks'
import { MqttLink } from '../mqtt-link.ts'
import { PACKET, encodePublish, flushPubacks, publishLayout } from '../mqtt-wire.ts'
import { readCpuTicks, readRunQueueWaitNs, CLOCK_TICKS_PER_SECOND } from '../proc-stats.ts'
import { cpuPercent, quantile, round } from '../stats.ts'

/** One latency run. */
export interface LatencyParams {
  port: number
  brokerPid: number
  /** Messages per second. */
  rate: number
  durationMs: number
  /** Samples from the first `warmupMs` are not counted (connections and JIT settle). */
  warmupMs: number
  payloadBytes: number
  /** The subscriber keeps its session (clean session off): what a persistent subscriber's messages cost (the store's journal and queue). */
  persistent?: boolean
}

/** Latency figures in milliseconds. */
export interface LatencyResult {
  samples: number
  sent: number
  received: number
  achievedRate: number
  p50Ms: number
  p90Ms: number
  p99Ms: number
  p999Ms: number
  maxMs: number
  brokerCpuPercent: number
  /** Percent of the run the broker waited for its core (see FlowResult.brokerWaitPercent). */
  brokerWaitPercent: number
}

/** Runs the paced publisher for warmup + duration and returns the latency distribution. */
export async function runLatency (p: LatencyParams): Promise<LatencyResult> {
  const topic = `bench/latency/${process.pid}`
  const total = Math.ceil(p.rate * (p.warmupMs + p.durationMs) / 1000)
  const warmupCount = Math.ceil(p.rate * p.warmupMs / 1000)
  const latencies = new Float64Array(total)
  let samples = 0
  let received = 0
  const acks: number[] = []
  const subscriber = await MqttLink.open({
    port: p.port,
    clientId: p.persistent === true ? 'latency-sub-persistent' : 'latency-sub',
    clean: p.persistent !== true,
    onFrame: (type, flags, buf, start) => {
      if (type !== PACKET.PUBLISH) return
      const now = performance.now()
      const { packetId, payloadStart } = publishLayout(buf, flags, start)
      if (packetId !== 0) acks.push(packetId)
      const stamp = buf.readDoubleLE(payloadStart)
      const seq = buf.readUInt32LE(payloadStart + 8)
      received++
      if (seq >= warmupCount && samples < latencies.length && (flags & 0x08) === 0) latencies[samples++] = now - stamp
    },
    afterChunk: (self) => { flushPubacks(self.socket, acks) }
  })
  await subscriber.subscribe(topic, 1)
  const publisher = await MqttLink.open({ port: p.port, clientId: 'latency-pub' })
  const template = encodePublish(topic, Buffer.alloc(Math.max(12, p.payloadBytes)), 1)
  const size = template.bytes.length
  let sent = 0
  let nextId = 1
  const started = performance.now()
  let measureStart: { at: number, ticks: number, waitNs: number } | undefined
  await new Promise<void>((resolve) => {
    // A 1 ms timer; each tick sends what the schedule says is due, stamped at the write.
    const timer = setInterval(() => {
      const now = performance.now()
      if (measureStart === undefined && now - started >= p.warmupMs) measureStart = { at: now, ticks: readCpuTicks(p.brokerPid) ?? 0, waitNs: readRunQueueWaitNs(p.brokerPid) ?? 0 }
      const due = Math.min(total, Math.floor((now - started) * p.rate / 1000))
      const count = Math.min(due - sent, 200)
      if (count > 0) {
        const out = Buffer.allocUnsafe(count * size)
        for (let j = 0; j < count; j++) {
          template.bytes.copy(out, j * size)
          out.writeUInt16BE(nextId, j * size + template.packetIdOffset)
          nextId = nextId === 65_535 ? 1 : nextId + 1
          out.writeUInt32LE(sent + j, j * size + template.payloadOffset + 8)
        }
        const stamp = performance.now()
        for (let j = 0; j < count; j++) out.writeDoubleLE(stamp, j * size + template.payloadOffset)
        publisher.socket.write(out)
        sent += count
      }
      if (sent >= total) { clearInterval(timer); resolve() }
    }, 1)
  })
  const end = { at: performance.now(), ticks: readCpuTicks(p.brokerPid) ?? 0, waitNs: readRunQueueWaitNs(p.brokerPid) ?? 0 }
  const graceUntil = performance.now() + 3_000
  while (received < sent && performance.now() < graceUntil) await new Promise((resolve) => setTimeout(resolve, 10))
  publisher.disconnect()
  subscriber.disconnect()
  await Promise.all([publisher.closed(3_000), subscriber.closed(3_000)])
  const sorted = latencies.subarray(0, samples).sort()
  const start = measureStart ?? { at: started, ticks: end.ticks, waitNs: end.waitNs }
  const seconds = (end.at - start.at) / 1000
  return {
    samples,
    sent,
    received,
    achievedRate: round(sent / ((end.at - started) / 1000), 0),
    p50Ms: round(quantile(sorted, 0.5), 3),
    p90Ms: round(quantile(sorted, 0.9), 3),
    p99Ms: round(quantile(sorted, 0.99), 3),
    p999Ms: round(quantile(sorted, 0.999), 3),
    maxMs: round(samples > 0 ? sorted[samples - 1] : Number.NaN, 3),
    brokerCpuPercent: cpuPercent((end.ticks - start.ticks) / CLOCK_TICKS_PER_SECOND, seconds),
    brokerWaitPercent: cpuPercent((end.waitNs - start.waitNs) / 1e9, seconds)
  }
}
