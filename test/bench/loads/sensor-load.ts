// A typical sensor gateway (issue 11's flash-wear day): N sensors, each a
// clean-session client publishing one QoS 1 reading every 1/rate s to a topic
// of its own, and one persistent subscriber (clean session off) online to
// `bench/sensor/<prefix>/#` at QoS 1, acknowledging everything. Started by
// startSensors, left running while the harness reads the broker's counters,
// ended by stopSensors.
import { performance } from 'node:perf_hooks'
import { MqttLink, mapLimit } from '../mqtt-link.ts'
import { PACKET, encodePublish, flushPubacks, publishLayout } from '../mqtt-wire.ts'
import { round } from '../stats.ts'

interface SensorRun {
  subscriber: MqttLink
  sensors: MqttLink[]
  timers: NodeJS.Timeout[]
  sent: number
  acked: number
  received: number
  startedAt: number
}

let run: SensorRun | undefined

/** Connects the subscriber and the sensors and starts the readings; resolves once all are connected. */
export async function startSensors (p: { port: number, sensors: number, rate: number, payloadBytes: number, prefix: string }): Promise<{ ms: number }> {
  if (run !== undefined) throw new Error('startSensors: a sensor run is already going; call stopSensors first')
  const started = performance.now()
  const acks: number[] = []
  // one object from here on: the handlers below count into it, countSensors reads it
  const state: SensorRun = { subscriber: undefined as unknown as MqttLink, sensors: [], timers: [], sent: 0, acked: 0, received: 0, startedAt: started }
  state.subscriber = await MqttLink.open({
    port: p.port,
    clientId: `${p.prefix}-subscriber`,
    clean: false,
    onFrame: (type, flags, buf, start) => {
      if (type !== PACKET.PUBLISH) return
      const { packetId } = publishLayout(buf, flags, start)
      if (packetId !== 0) acks.push(packetId)
      state.received++
    },
    afterChunk: (self) => { flushPubacks(self.socket, acks) }
  })
  await state.subscriber.subscribe(`bench/sensor/${p.prefix}/#`, 1)
  const payload = Buffer.alloc(Math.max(8, p.payloadBytes), 0x73)
  const periodMs = 1000 / p.rate
  state.sensors = await mapLimit(p.sensors, 50, async (i) => {
    const link = await MqttLink.open({ port: p.port, clientId: `${p.prefix}-sensor-${i}`, onFrame: (type) => { if (type === PACKET.PUBACK) state.acked++ } })
    const template = encodePublish(`bench/sensor/${p.prefix}/${i}`, payload, 1)
    let nextId = 1
    let reading = 0
    const publish = (): void => {
      const bytes = Buffer.from(template.bytes)
      bytes.writeUInt16BE(nextId, template.packetIdOffset)
      nextId = nextId === 65_535 ? 1 : nextId + 1
      bytes.writeUInt32BE(i, template.payloadOffset)
      bytes.writeUInt32BE(reading++, template.payloadOffset + 4)
      state.sent++
      link.socket.write(bytes)
    }
    // spread over the period, as independent devices are
    const first = setTimeout(() => {
      publish()
      state.timers.push(setInterval(publish, periodMs))
    }, (i / p.sensors) * periodMs)
    state.timers.push(first)
    return link
  })
  run = state
  return { ms: round(performance.now() - started, 0) }
}

/** Stops the readings, waits up to 5 s for the last PUBACKs and deliveries, disconnects everyone. */
export async function stopSensors (): Promise<{ sent: number, acked: number, received: number, seconds: number }> {
  const r = run
  if (r === undefined) throw new Error('stopSensors: no sensor run is going')
  run = undefined
  for (const t of r.timers) { clearTimeout(t); clearInterval(t) }
  const deadline = performance.now() + 5_000
  while ((r.acked < r.sent || r.received < r.sent) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  for (const link of [...r.sensors, r.subscriber]) link.disconnect()
  await Promise.all([...r.sensors, r.subscriber].map((l) => l.closed(5_000)))
  return { sent: r.sent, acked: r.acked, received: r.received, seconds: round((performance.now() - r.startedAt) / 1000, 1) }
}

/** Readings published and acknowledged so far (for the window's count). */
export function countSensors (): { sent: number, acked: number, received: number } {
  if (run === undefined) throw new Error('countSensors: no sensor run is going')
  return { sent: run.sent, acked: run.acked, received: run.received }
}
