// PROXY protocol on a tcp listener: IP rules judge the real client named by a
// trusted balancer's header, never the balancer or a forged header.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import net from 'node:net'
import mqttPacket from 'mqtt-packet'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'

async function connectVia (port: number, header: string | undefined): Promise<number | 'closed'> {
  return await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      if (header !== undefined) s.write(header)
      s.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'px', keepalive: 60 } as never))
    })
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    parser.on('packet', (p) => { resolve((p as unknown as { returnCode: number }).returnCode); s.destroy() })
    s.on('data', (d) => parser.parse(d))
    s.on('error', () => {})
    s.on('close', () => resolve('closed'))
  })
}

let trusted: InProcessBroker
let untrusted: InProcessBroker
test.before(async () => {
  trusted = await startBrokerInProcess('listeners:\n  - { name: lb, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: true, proxyProtocol: true, trustedProxies: [127.0.0.1/32], deny: [203.0.113.0/24] }\n')
  untrusted = await startBrokerInProcess('listeners:\n  - { name: lb, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: true, proxyProtocol: true, trustedProxies: [10.0.0.0/8] }\n')
})
test.after(async () => { await trusted.stop(); await untrusted.stop() })

test('a v1 header from a trusted balancer: the real client is judged by the IP rules', async () => {
  assert.is(await connectVia(trusted.port, 'PROXY TCP4 198.51.100.1 127.0.0.1 5555 1883\r\n'), 0)
  assert.is(await connectVia(trusted.port, 'PROXY TCP4 203.0.113.7 127.0.0.1 5555 1883\r\n'), 'closed', 'denied range behind the balancer')
})

test('no header, or a malformed one, closes the connection', async () => {
  assert.is(await connectVia(trusted.port, undefined), 'closed')
  assert.is(await connectVia(trusted.port, 'PROXY TCP4 nonsense\r\n'), 'closed')
})

test('a header from a peer that is not a trusted proxy is refused (it could forge any address)', async () => {
  assert.is(await connectVia(untrusted.port, 'PROXY TCP4 198.51.100.1 127.0.0.1 5555 1883\r\n'), 'closed')
})

test.run()
