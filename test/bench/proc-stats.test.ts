import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseListenOverflows, readListenOverflows } from './proc-stats.ts'

// The two TcpExt lines as Linux 6.1 prints them (shortened: the names and values keep their order).
const NETSTAT = [
  'TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed ListenOverflows ListenDrops TCPHPHits',
  'TcpExt: 0 0 0 187037 187040 912',
  'IpExt: InNoRoutes InTruncatedPkts',
  'IpExt: 0 0',
  ''
].join('\n')

test('ListenOverflows is read by its name in the TcpExt header, not by position', () => {
  assert.is(parseListenOverflows(NETSTAT), 187037)
  const moved = NETSTAT.replace('SyncookiesSent SyncookiesRecv', 'SyncookiesRecv').replace('TcpExt: 0 0 0', 'TcpExt: 0 0')
  assert.is(parseListenOverflows(moved), 187037)
})

test('no TcpExt lines, or no ListenOverflows column: undefined, not 0', () => {
  assert.is(parseListenOverflows('IpExt: InNoRoutes\nIpExt: 0\n'), undefined)
  assert.is(parseListenOverflows('TcpExt: TCPHPHits\nTcpExt: 5\n'), undefined)
})

test('this machine\'s counter reads as a number', () => {
  const n = readListenOverflows()
  assert.type(n, 'number')
  assert.ok(Number.isInteger(n) && (n as number) >= 0)
})

test.run()
