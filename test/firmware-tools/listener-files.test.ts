import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { exposedPorts, readyTarget, renderListenerFiles, toFirewallListeners } from '../../firmware-tools/lib/listener-files.ts'

const test = suite('listener files')

test('waits for wildcard listeners over loopback, IPv6 in brackets', () => {
  assert.is(readyTarget({ name: 'a', host: '0.0.0.0', port: 8883 }), '127.0.0.1:8883')
  assert.is(readyTarget({ name: 'b', host: '::', port: 8883 }), '[::1]:8883')
  assert.is(readyTarget({ name: 'c', host: '192.0.2.10', port: 1883 }), '192.0.2.10:1883')
  assert.is(readyTarget({ name: 'd', host: 'fe80::1', port: 1883 }), '[fe80::1]:1883')
})

test('only non-loopback listeners count as exposed (firewall holes, jail ports)', () => {
  const listeners = [{ name: 'l', host: '127.0.0.1', port: 1883 }, { name: 'v6l', host: '::1', port: 1884 }, { name: 'lan', host: '0.0.0.0', port: 8883 }]
  assert.equal(exposedPorts(listeners), [8883])
  const { jail, nftables } = renderListenerFiles(listeners)
  assert.match(jail, /^port = 8883$/m)
  assert.not.match(nftables, /dport 1883/)
  assert.match(nftables, /tcp dport 8883 accept/)
})

test('takes string allow lists from the listener config and ignores anything else', () => {
  const fw = toFirewallListeners([{ name: 'a', host: '0.0.0.0', port: 1, allow: ['192.0.2.0/24', 7] }, { name: 'b', host: '0.0.0.0', port: 2, allow: 'x' }])
  assert.equal(fw.map((l) => l.allow), [['192.0.2.0/24'], undefined])
})

test('a config with only loopback listeners still gets a jail on their ports', () => {
  assert.match(renderListenerFiles([{ name: 'l', host: '127.0.0.1', port: 1883 }]).jail, /^port = 1883$/m)
})

test.run()
