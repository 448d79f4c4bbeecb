// The overrides in src/engine/ were written against these exact versions; the
// canaries beside this file check each internal, this one says which build
// they were checked against. A version bump must come with a canary run.
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { installedVersion, packageDir } from './pinned-aedes.ts'

test('aedes, mqemitter and mqtt-packet are the versions the overrides were written for', () => {
  assert.is(installedVersion('aedes'), '2.0.0-beta.1')
  assert.is(installedVersion('mqemitter'), '7.1.0')
  assert.is(installedVersion('mqtt-packet'), '9.0.2')
})

test('aedes loads the same mqtt-packet and mqemitter edgemq patches (no nested copies)', () => {
  const fromAedes = join(packageDir('aedes'), 'aedes.js')
  assert.is(packageDir('mqtt-packet', fromAedes), packageDir('mqtt-packet'))
  assert.is(packageDir('mqemitter', fromAedes), packageDir('mqemitter'))
})

test.run()
