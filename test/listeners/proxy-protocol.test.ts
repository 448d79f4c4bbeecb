import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, connect, type Socket } from 'node:net'
import { parseProxyHeader, readProxyHeader, resolveClientAddress, PROXY_V2_SIGNATURE } from '../../src/listeners/proxy-protocol.ts'

const CONNECT = Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00])

function v2 (cmd: number, fam: number, body: Buffer): Buffer {
  const len = Buffer.alloc(2); len.writeUInt16BE(body.length)
  return Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x20 | cmd, fam]), len, body])
}

test('v1 TCP4: real source address and port, the MQTT bytes after it kept', () => {
  const r = parseProxyHeader(Buffer.concat([Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 51234 1883\r\n'), CONNECT]))
  assert.is(r.status, 'ok')
  if (r.status !== 'ok') return
  assert.equal(r.source, { ip: '203.0.113.7', port: 51234 })
  assert.ok(r.rest.equals(CONNECT))
})

test('v1 TCP6 and UNKNOWN', () => {
  const r = parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 4000 1883\r\n'))
  assert.ok(r.status === 'ok' && r.source?.ip === '2001:db8::7' && r.source.port === 4000)
  const u = parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'))
  assert.ok(u.status === 'ok' && u.source === undefined)
})

test('v1 incomplete until CRLF, refused past 107 bytes', () => {
  assert.is(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4')).status, 'incomplete')
  assert.is(parseProxyHeader(Buffer.from('PRO')).status, 'incomplete')
  assert.is(parseProxyHeader(Buffer.from('PROXY TCP4 ' + '1'.repeat(120))).status, 'error')
})

test('v1 malformed lines are errors, never a forged or garbage address', () => {
  for (const bad of [
    'PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n',
    'PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n',
    'PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n',
    'PROXY TCP4 ::1 ::1 1 2\r\n',
    'PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n',
    'PROXY TCP4 1.2.3.4 5.6.7.8 70000 2\r\n',
    'PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n',
    'PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n',
    'PROXY TCP4 1.2.3.4%eth0 5.6.7.8 1 2\r\n'
  ]) assert.is(parseProxyHeader(Buffer.from(bad)).status, 'error', bad)
})

test('no header at all (a plain MQTT CONNECT) is an error on a proxyProtocol listener', () => {
  assert.is(parseProxyHeader(CONNECT).status, 'error')
})

test('v2 PROXY TCP4 and TCP6 give the real address; TLVs are skipped', () => {
  const body4 = Buffer.from([198, 51, 100, 9, 10, 0, 0, 1, 0x1f, 0x90, 0x07, 0x5b, 0x04, 0x00, 0x01, 0x00]) // + one TLV
  const r4 = parseProxyHeader(Buffer.concat([v2(1, 0x11, body4), CONNECT]))
  assert.ok(r4.status === 'ok' && r4.source?.ip === '198.51.100.9' && r4.source.port === 8080, JSON.stringify(r4))
  if (r4.status === 'ok') assert.ok(r4.rest.equals(CONNECT))
  const body6 = Buffer.alloc(36)
  Buffer.from('20010db8000000000000000000000042', 'hex').copy(body6, 0)
  body6.writeUInt16BE(1234, 32)
  const r6 = parseProxyHeader(v2(1, 0x21, body6))
  assert.ok(r6.status === 'ok' && r6.source?.ip === '2001:db8::42' && r6.source.port === 1234, JSON.stringify(r6))
})

test('v2 LOCAL keeps the socket address; bad version, command, family, short blocks are errors', () => {
  const local = parseProxyHeader(v2(0, 0x00, Buffer.alloc(0)))
  assert.ok(local.status === 'ok' && local.source === undefined)
  const badVersion = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x11, 0x11, 0, 0])])
  assert.is(parseProxyHeader(badVersion).status, 'error')
  assert.is(parseProxyHeader(v2(2, 0x11, Buffer.alloc(12))).status, 'error')
  assert.is(parseProxyHeader(v2(1, 0x11, Buffer.alloc(4))).status, 'error')
  assert.is(parseProxyHeader(v2(1, 0x21, Buffer.alloc(12))).status, 'error')
  assert.is(parseProxyHeader(v2(1, 0x31, Buffer.alloc(216))).status, 'error') // unix sockets
  assert.is(parseProxyHeader(v2(1, 0x12, Buffer.alloc(12))).status, 'error') // UDP
})

test('v2 incomplete while the declared length has not arrived; an oversized length is refused', () => {
  assert.is(parseProxyHeader(PROXY_V2_SIGNATURE.subarray(0, 5)).status, 'incomplete')
  const full = v2(1, 0x11, Buffer.alloc(12))
  assert.is(parseProxyHeader(full.subarray(0, 20)).status, 'incomplete')
  const huge = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x11, 0xff, 0xff])])
  assert.is(parseProxyHeader(huge).status, 'error')
})

test('every truncation of valid headers is incomplete or ok, never a crash', () => {
  for (const h of [Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), v2(1, 0x11, Buffer.alloc(12))]) {
    for (let i = 0; i <= h.length; i++) assert.ok(['incomplete', 'ok'].includes(parseProxyHeader(h.subarray(0, i)).status))
  }
})

async function withServer (onSocket: (s: Socket) => Promise<void>, send: (c: Socket) => void): Promise<void> {
  let done!: Promise<void>
  const server = createServer((s) => { done = onSocket(s) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const c = connect(port, '127.0.0.1')
  await new Promise<void>((resolve) => c.once('connect', resolve))
  send(c)
  await new Promise((resolve) => setTimeout(resolve, 100))
  await done
  c.destroy()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

test('on a real socket: a trusted peer\'s header gives the client address and the rest of the bytes, in two chunks', async () => {
  await withServer(async (s) => {
    const r = await readProxyHeader(s, { trustedProxies: ['127.0.0.1/32'], timeoutMs: 2000 })
    assert.ok(r.ok && r.ip === '203.0.113.50' && r.port === 40000, JSON.stringify(r))
    if (r.ok) assert.ok(r.rest.equals(CONNECT))
    s.destroy()
  }, (c) => {
    c.write('PROXY TCP4 203.0.113.50 ')
    setTimeout(() => c.write(Buffer.concat([Buffer.from('10.0.0.1 40000 1883\r\n'), CONNECT])), 20)
  })
})

test('on a real socket: an untrusted peer is refused before any byte is read', async () => {
  await withServer(async (s) => {
    const r = await readProxyHeader(s, { trustedProxies: ['10.0.0.0/8'], timeoutMs: 2000 })
    assert.not.ok(r.ok)
    if (!r.ok) assert.match(r.reason, /untrusted address 127\.0\.0\.1/)
    s.destroy()
  }, (c) => { c.write('PROXY TCP4 1.1.1.1 10.0.0.1 1 1883\r\n') })
})

test('on a real socket: no header in time is refused', async () => {
  await withServer(async (s) => {
    const r = await readProxyHeader(s, { trustedProxies: ['127.0.0.1'], timeoutMs: 50 })
    assert.ok(!r.ok && /no PROXY header within 50 ms/.test(r.reason))
    s.destroy()
  }, () => {})
})

test('resolveClientAddress: the header\'s address, and the MQTT bytes after it still readable from the socket', async () => {
  await withServer(async (s) => {
    const a = await resolveClientAddress(s, { proxyProtocol: true, trustedProxies: ['127.0.0.1'] }, 2000)
    assert.equal(a, { ip: '203.0.113.9', port: 5555 })
    const first = await new Promise<Buffer>((resolve) => s.once('data', resolve))
    assert.ok(first.subarray(0, CONNECT.length).equals(CONNECT), first.toString('hex'))
    s.destroy()
  }, (c) => { c.write(Buffer.concat([Buffer.from('PROXY TCP4 203.0.113.9 10.0.0.1 5555 1883\r\n'), CONNECT])) })
})

test('resolveClientAddress: off = the socket address; a bad header destroys the socket', async () => {
  await withServer(async (s) => {
    assert.equal(await resolveClientAddress(s, {}), { ip: '127.0.0.1', port: s.remotePort })
    s.destroy()
  }, () => {})
  await withServer(async (s) => {
    assert.is(await resolveClientAddress(s, { proxyProtocol: true, trustedProxies: ['127.0.0.1'] }, 2000), undefined)
    assert.ok(s.destroyed)
  }, (c) => { c.write(CONNECT) })
})

test.run()
