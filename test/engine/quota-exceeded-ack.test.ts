// Canary for src/engine/quota-exceeded-ack.ts: the pinned aedes answers a
// refused v5 PUBLISH with a 0x87 PUBACK/PUBREC built in its publish handler
// and written through mqtt-packet's writeToStream on client.conn. If aedes
// changes that path, the 0x97 of limits.queueFullPolicy refuse-new silently
// becomes 0x87 again: this test fails first.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PassThrough } from 'node:stream'
import mqttPacket from 'mqtt-packet'
import { installQuotaExceededAck, markQuotaExceeded } from '../../src/engine/quota-exceeded-ack.ts'

// the aedes the bundle is built from (package.json pins it)
const aedesDir = fileURLToPath(new URL('../../node_modules/aedes/', import.meta.url))

test('aedes answers a refused v5 QoS 1/2 PUBLISH with NOT_AUTHORIZED on a PubAck/PubRec it writes', () => {
  const src = readFileSync(join(aedesDir, 'lib/handlers/publish.js'), 'utf8')
  assert.match(src, /ack\.reasonCode = ReasonCodes\.NOT_AUTHORIZED/)
  assert.match(src, /new PubAck\(packet\) : new PubRec\(packet\)/)
})

test('aedes writes packets with mqtt-packet writeToStream on client.conn', () => {
  const src = readFileSync(join(aedesDir, 'lib/write.js'), 'utf8')
  assert.match(src, /writeToStream\(packet, client\.conn/)
})

test('a marked refusal is written as 0x97; others keep 0x87', async () => {
  installQuotaExceededAck(mqttPacket as unknown as Parameters<typeof installQuotaExceededAck>[0])
  const conn = new PassThrough()
  const chunks: Buffer[] = []
  conn.on('data', (c: Buffer) => chunks.push(c))
  markQuotaExceeded({ conn }, 7)
  mqttPacket.writeToStream({ cmd: 'puback', messageId: 7, reasonCode: 0x87 } as never, conn, { protocolVersion: 5 })
  mqttPacket.writeToStream({ cmd: 'puback', messageId: 8, reasonCode: 0x87 } as never, conn, { protocolVersion: 5 })
  await new Promise((resolve) => setImmediate(resolve))
  const bytes = Buffer.concat(chunks)
  // PUBACK v5: 0x40, length 4, id (2 bytes), reason code, property length 0
  assert.equal([...bytes], [0x40, 4, 0, 7, 0x97, 0, 0x40, 4, 0, 8, 0x87, 0])
})

test.run()
