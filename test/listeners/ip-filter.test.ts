import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { IpFilter, IpRangeSet, formatIp, normalizeIp, parseCidr, parseIp, checkCidrList } from '../../src/listeners/ip-filter.ts'

test('IPv4 CIDR matches inside and not outside the range', () => {
  const s = new IpRangeSet(['192.168.0.0/16'])
  assert.ok(s.contains('192.168.1.20'))
  assert.ok(s.contains('192.168.255.255'))
  assert.not.ok(s.contains('192.169.0.1'))
  assert.not.ok(s.contains('10.0.0.1'))
})

test('an IPv4 rule matches the IPv4-mapped IPv6 form a dual-stack socket reports', () => {
  const s = new IpRangeSet(['10.0.0.0/8'])
  assert.ok(s.contains('::ffff:10.1.2.3'))
  assert.not.ok(s.contains('::ffff:11.1.2.3'))
})

test('IPv6 CIDR matches with :: compression and zone ids', () => {
  const s = new IpRangeSet(['fd00::/8', '2001:db8:1::/48'])
  assert.ok(s.contains('fd12:3456::1'))
  assert.ok(s.contains('2001:db8:1:ffff::9'))
  assert.ok(s.contains('fe80::1%eth0') === false)
  assert.not.ok(s.contains('2001:db8:2::1'))
})

test('an IPv4 range never matches a plain IPv6 address with the same low bits', () => {
  const s = new IpRangeSet(['0.0.0.0/0'])
  assert.ok(s.contains('1.2.3.4'))
  assert.not.ok(s.contains('::1'))
  assert.not.ok(s.contains('2001:db8::1.2.3.4'))
})

test('host bits in a CIDR are cleared, a bare address is a /32 or /128', () => {
  assert.ok(new IpRangeSet(['10.1.2.3/8']).contains('10.200.0.1'))
  assert.ok(new IpRangeSet(['127.0.0.1']).contains('127.0.0.1'))
  assert.not.ok(new IpRangeSet(['127.0.0.1']).contains('127.0.0.2'))
  assert.ok(new IpRangeSet(['::1']).contains('::1'))
  assert.ok(new IpRangeSet(['::/0']).contains('::ffff:1.2.3.4'))
})

test('bad CIDRs are refused: prefix too long, garbage, empty', () => {
  for (const bad of ['10.0.0.0/33', 'fd00::/129', 'nope', '', '10.0.0.0/', '10.0.0.0/-1', '300.1.1.1/8', '10.0.0.0/8/9']) {
    assert.is(parseCidr(bad), undefined, bad)
  }
  assert.match(checkCidrList(['10.0.0.0/8', 'x']) ?? '', /bad entry "x"/)
  assert.is(checkCidrList(['10.0.0.0/8', '::1']), undefined)
})

test('deny wins over allow; an allow list refuses everything else; no lists allow all', () => {
  const f = new IpFilter({ allow: ['192.168.0.0/16'], deny: ['192.168.66.0/24'] })
  assert.ok(f.allows('192.168.1.1'))
  assert.not.ok(f.allows('192.168.66.7'))
  assert.not.ok(f.allows('8.8.8.8'))
  assert.ok(new IpFilter({}).allows('8.8.8.8'))
  assert.not.ok(new IpFilter({ deny: ['0.0.0.0/0', '::/0'] }).allows('::1'))
})

test('normalizeIp\'s shortcut for IPv4 and ::ffff:IPv4 gives what the full parse gives', () => {
  const forms = ['1.2.3.4', '0.0.0.0', '255.255.255.255', '127.0.0.1', '::ffff:10.0.0.1', '::ffff:255.1.0.9',
    '01.2.3.4', '1.2.3', '::ffff:1.2.3', '::FFFF:1.2.3.4', '::ffff:0:1.2.3.4', '::ffff:1.2.3.4%eth0', '1.2.3.4%lo']
  for (const text of forms) {
    const bytes = parseIp(text)
    assert.is(normalizeIp(text), bytes === undefined ? text : formatIp(bytes), text)
  }
})

test('normalizeIp gives one key per address whatever the form', () => {
  assert.is(normalizeIp('::ffff:1.2.3.4'), '1.2.3.4')
  assert.is(normalizeIp('::FFFF:0102:0304'), '1.2.3.4')
  assert.is(normalizeIp('2001:0db8:0000:0000:0000:0000:0000:0001'), '2001:db8::1')
  assert.is(normalizeIp('::1'), '::1')
  assert.is(normalizeIp('1.2.3.4'), '1.2.3.4')
  assert.is(normalizeIp('not-an-ip'), 'not-an-ip')
})

test.run()
