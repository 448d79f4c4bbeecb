// limits.keepaliveMax with the opt-in limits.keepaliveStrict against SlowITe (CVE-2020-13849), on raw packets.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import net from 'node:net'
import mqttPacket from 'mqtt-packet'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'

let b: InProcessBroker
test.before(async () => { b = await startBrokerInProcess('listeners:\n  - { name: t, type: tcp, host: 127.0.0.1, port: 0 }\nlimits: { keepaliveMax: 120, keepaliveStrict: true }\n') })
test.after(async () => { await b.stop() })

async function connack (version: 4 | 5, keepalive: number): Promise<Record<string, unknown>> {
  return await new Promise((resolve, reject) => {
    const s = net.connect(b.port, '127.0.0.1', () => {
      s.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, clientId: `ka-${version}-${keepalive}`, keepalive } as never))
    })
    const parser = mqttPacket.parser({ protocolVersion: version })
    parser.on('packet', (p) => { resolve(p as unknown as Record<string, unknown>); s.destroy() })
    s.on('data', (d) => parser.parse(d))
    s.on('close', () => reject(new Error('closed without CONNACK')))
  })
}

test('3.1.1: a keepalive within limits.keepaliveMax is accepted', async () => {
  assert.is((await connack(4, 60)).returnCode, 0)
})

test('3.1.1: keepalive above the max, or 0 (never), gets CONNACK 2 (identifier rejected), never the undefined 6 [MQTT-3.2.2-4]', async () => {
  assert.is((await connack(4, 121)).returnCode, 2)
  assert.is((await connack(4, 0)).returnCode, 2)
})

test('5.0: keepalive above the max, or 0, is accepted with Server Keep Alive = the max [MQTT-3.2.2-21]', async () => {
  for (const ka of [0, 500]) {
    const p = await connack(5, ka)
    assert.is(p.reasonCode, 0)
    assert.is((p.properties as { serverKeepAlive?: number } | undefined)?.serverKeepAlive, 120)
  }
  const ok = await connack(5, 30)
  assert.is((ok.properties as { serverKeepAlive?: number } | undefined)?.serverKeepAlive, undefined)
})

test.run()
