// Say what happened (issue 15: nothing was logged for ACL-denied publishes,
// connects and disconnects, oversized packets (and the packetTooLarge counter
// stayed 0), or failed client-certificate handshakes). Real clients on real
// sockets; the log lines carry client id, user, IP and reason, and a flood of
// one kind is rate-limited.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { connect as tlsConnect } from 'node:tls'
import { connect } from 'node:net'
import { join } from 'node:path'
import mqtt from 'mqtt'
import mqttPacket from 'mqtt-packet'
import { startBroker, type EdgemqBroker } from '../../src/broker.ts'
import { PARTS } from '../../src/parts.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { createEventLog } from '../../src/observability/event-log.ts'
import { callControl } from '../../src/control/control-client.ts'
import { configFrom, tempDir, removeDir } from '../auth/security-broker.ts'
import { makeTestPki } from '../auth/test-pki.ts'

let dir = ''
let broker: EdgemqBroker
const logs: string[] = []
let port = 0
let tlsPort = 0

test.before(async () => {
  dir = await tempDir()
  const pki = await makeTestPki(dir)
  const config = await configFrom(`listeners:
  - { name: local, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: true }
  - { name: tls, type: tls, host: 127.0.0.1, port: 0, cert: ${pki.server.cert}, key: ${pki.server.key}, ca: ${pki.ca}, requireCertificate: true, allowAnonymous: true }
limits: { maxPacketSize: 1KB }
acl:
  rules:
    - { allow: readwrite, topic: "ok/#" }
`, dir)
  broker = await startBroker(config, createLogger({ level: 'info', sink: (l) => logs.push(l) }), PARTS)
  port = broker.addresses().find((a) => a.name === 'local')!.port
  tlsPort = broker.addresses().find((a) => a.name === 'tls')!.port
})

test.after(async () => {
  await broker.close()
  await removeDir(dir)
})

async function waitForLine (re: RegExp, from = 0): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const line = logs.slice(from).find((l) => re.test(l))
    if (line !== undefined) return line
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`no log line ${String(re)} in:\n${logs.slice(from).join('\n')}`)
}

test('connect, ACL-denied publish and disconnect are logged at info with client id, IP and reason', async () => {
  const from = logs.length
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'sensor-7', protocolVersion: 5, reconnectPeriod: 0 })
  assert.match(await waitForLine(/info broker: client connected/, from), /client=sensor-7 .*ip=127\.0\.0\.1 listener=local protocol=5/)
  await c.publishAsync('no/x', 'v', { qos: 1 }).catch(() => {}) // PUBACK 0x87
  assert.match(await waitForLine(/info broker: publish refused/, from), /client=sensor-7 ip=127\.0\.0\.1 topic=no\/x reason=/)
  await c.endAsync()
  assert.match(await waitForLine(/info broker: client disconnected/, from), /client=sensor-7 .*ip=127\.0\.0\.1/)
})

test('an oversized packet is logged with its size and the limit, and limits.get counts it', async () => {
  const from = logs.length
  const before = (await callControl(join(dir, 'control.sock'), 'limits.get') as { counters: { packetTooLarge: number } }).counters.packetTooLarge
  await new Promise<void>((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId: 'big-1' } as mqttPacket.IConnectPacket))
    })
    s.on('error', () => {})
    // After the CONNACK, as a device does: the oversized PUBLISH then belongs to a known client.
    s.once('data', () => { s.write(mqttPacket.generate({ cmd: 'publish', topic: 'ok/big', payload: Buffer.alloc(4096), qos: 0, retain: false, dup: false } as mqttPacket.IPublishPacket)) })
    s.on('data', () => {}) // read, so the broker's close is seen
    s.on('close', () => resolve())
  })
  assert.match(await waitForLine(/warn broker: connection closed: packet too large/, from), /client=big-1 .*ip=127\.0\.0\.1 size=\d{4} max=1024/)
  const after = (await callControl(join(dir, 'control.sock'), 'limits.get') as { counters: { packetTooLarge: number } }).counters.packetTooLarge
  assert.is(after, before + 1)
})

test('a client-certificate handshake failure is logged with the IP, listener and reason', async () => {
  const from = logs.length
  await new Promise<void>((resolve) => {
    const s = tlsConnect({ port: tlsPort, host: '127.0.0.1', rejectUnauthorized: false }) // no client certificate
    s.on('error', () => {})
    s.on('close', () => resolve())
    s.on('secureConnect', () => { s.write('x') })
  })
  assert.match(await waitForLine(/warn broker: TLS handshake failed/, from), /ip=127\.0\.0\.1 listener=tls reason=/)
})

test('a flood of one kind writes at most the burst per window, then one summary line', () => {
  const lines: string[] = []
  let t = 0
  const events = createEventLog(createLogger({ sink: (l) => lines.push(l) }), { burst: 5, windowMs: 1000, now: () => t })
  for (let i = 0; i < 100; i++) events.event('publish-refused', 'info', 'publish refused', { client: `c${i}` })
  events.event('connect', 'info', 'client connected')
  assert.is(lines.filter((l) => l.includes('publish refused')).length, 5)
  assert.is(lines.filter((l) => l.includes('client connected')).length, 1, 'kinds are limited apart')
  t = 1500
  events.event('publish-refused', 'info', 'publish refused', { client: 'late' })
  assert.ok(lines.some((l) => /log lines suppressed \(rate limit\) event=publish-refused suppressed=95/.test(l)), lines.join('\n'))
  assert.ok(lines.at(-1)!.includes('client=late'))
})

test.run()
