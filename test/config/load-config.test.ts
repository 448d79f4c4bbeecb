import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseConfigText } from '../../src/config/config-file.ts'
import { checkBoardSettings, resolveConfig } from '../../src/config/load-config.ts'
import { BOARDS, getBoard } from '../../src/config/boards.ts'
import { isEdgemqError } from '../../src/errors.ts'

const noBoard = { model: async () => undefined, memoryMiB: async () => undefined, arch: () => 'x64' }

async function problemsOf (yaml: string, flags = {}): Promise<string[]> {
  try {
    await resolveConfig({ file: parseConfigText(yaml, 'site.yaml'), flags, probe: noBoard })
  } catch (err) {
    if (isEdgemqError(err, 'EDGEMQ_ERR_CONFIG_INVALID')) return [...err.problems]
    throw err
  }
  return []
}

test('with no file: one loopback listener on 1883, data in ./data, generic board', async () => {
  const { config, board, sources } = await resolveConfig({ probe: noBoard })
  assert.equal(config.listeners.map((l) => [l.type, l.host, l.port, l.allowAnonymous]), [['tcp', '127.0.0.1', 1883, true]])
  assert.is(config.persistence.path, './data')
  assert.is(board.name, 'generic')
  assert.is(config.limits.maxPacketSize, 256 * 1024)
  assert.is(sources.get('limits.maxPacketSize')?.layer, 'default')
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.limits))
})

test('layers apply in order: default < board < file < flag, and sources say which', async () => {
  const file = parseConfigText('board: rpi-zero-2w\nlimits:\n  maxConnections: 77\n', 'site.yaml')
  const { config, sources } = await resolveConfig({ file, flags: { data: '/tmp/x' }, probe: noBoard })
  assert.is(config.limits.maxPacketSize, 64 * 1024) // board
  assert.is(sources.get('limits.maxPacketSize')?.layer, 'board')
  assert.is(config.limits.maxConnections, 77) // file over board
  assert.equal(sources.get('limits.maxConnections'), { layer: 'file', where: 'site.yaml:3' })
  assert.is(config.persistence.path, '/tmp/x') // flag
  assert.is(sources.get('persistence.path')?.layer, 'flag')
  assert.is(config.limits.connectTimeout, 10_000) // default
})

test('-p and --host change the first listener; a non-loopback host refuses anonymous clients', async () => {
  const { config } = await resolveConfig({ flags: { port: '1999', host: '0.0.0.0' }, probe: noBoard })
  assert.is(config.listeners[0].port, 1999)
  assert.is(config.listeners[0].host, '0.0.0.0')
  assert.is(config.listeners[0].allowAnonymous, false)
})

test('a listener off loopback never allows anonymous clients unless it says so', async () => {
  const yaml = 'listeners:\n  - { name: lan, host: 0.0.0.0, port: 1883 }\n  - { name: open, host: 0.0.0.0, port: 1884, allowAnonymous: true }\n  - { name: lo6, host: "::1", port: 1885 }\n'
  const { config } = await resolveConfig({ file: parseConfigText(yaml, 'site.yaml'), probe: noBoard })
  assert.equal(config.listeners.map((l) => l.allowAnonymous), [false, true, true])
})

test('every problem is reported at once with file:line, key, value and the fix', async () => {
  const problems = await problemsOf([
    'limits:',
    '  maxPacketSize: 12', // line 2: below min
    '  maxPacketSzie: 1MB', // line 3: typo
    'persistence:',
    '  sync: sometimes', // line 5: bad enum
    'listeners:',
    '  - { name: a, type: tls, port: 8883 }', // line 7: tls without cert/key
    '  - { name: b, type: tcp, port: 99999 }', // line 8: bad port
    '  - { name: c, type: tcp, prot: 1 }' // line 9: unknown field
  ].join('\n'))
  const text = problems.join('\n')
  assert.ok(text.includes('limits.maxPacketSize must be >= 64B: got 12 (site.yaml:2)'), text)
  assert.ok(text.includes('unknown key limits.maxPacketSzie (site.yaml:3): did you mean limits.maxPacketSize?'), text)
  assert.ok(text.includes('persistence.sync must be one of always, batch, never: got "sometimes" (site.yaml:5)'), text)
  assert.ok(/listeners\[0\] \(tls\) needs cert and key.*site\.yaml:7/.test(text), text)
  assert.ok(text.includes('listeners[1].port must be <= 65535: got 99999 (site.yaml:8)'), text)
  assert.ok(/unknown key listeners\[2\]\.prot \(site\.yaml:9\): did you mean port\?/.test(text), text)
  assert.is(problems.length, 6)
})

test('duplicate listener names and unknown boards are refused', async () => {
  const problems = await problemsOf('board: rpi-9\nlisteners:\n  - { name: x, port: 1 }\n  - { name: x, port: 2 }\n')
  assert.ok(problems.some((p) => p.includes('unknown board "rpi-9"') && p.includes('site.yaml:1')), problems.join('\n'))
  assert.ok(problems.some((p) => p.includes('must be unique')), problems.join('\n'))
})

test('a list row\'s own check runs too: a bridge without a url is refused by check, not only at start', async () => {
  const problems = await problemsOf('bridges:\n  - name: cloud\n    topics: [{ filter: "s/#", direction: out }]\n')
  assert.ok(problems.some((p) => /^bridges must be valid \(bridges\[0\] \(cloud\): url is required/.test(p) && p.includes('site.yaml:2')), problems.join('\n'))
})

test('YAML syntax errors name the file and line', async () => {
  try {
    parseConfigText('limits:\n  maxPacketSize: [1,\n', 'bad.yaml')
    assert.unreachable()
  } catch (err) {
    assert.ok(isEdgemqError(err, 'EDGEMQ_ERR_CONFIG_INVALID'))
    assert.match(err.message, /^bad\.yaml:\d+: /)
  }
})

test('JSON config files are accepted too', async () => {
  const file = parseConfigText('{"limits": {"maxPacketSize": "1MB"}}', 'site.json')
  const { config } = await resolveConfig({ file, probe: noBoard })
  assert.is(config.limits.maxPacketSize, 1024 * 1024)
})

test('every shipped board profile sets only board-settable keys with valid values', () => {
  for (const board of BOARDS) assert.equal(checkBoardSettings(board), [], board.name)
})

test('a board that tries to open a listener or set the data path is refused', () => {
  const evil = { ...getBoard('generic'), name: 'evil', settings: { listeners: [], persistence: { path: '/' }, limits: { maxPacketSize: 1 } } }
  const problems = checkBoardSettings(evil)
  assert.ok(problems.some((p) => p.includes('sets listeners')), problems.join('\n'))
  assert.ok(problems.some((p) => p.includes('sets persistence.path')), problems.join('\n'))
  assert.ok(problems.some((p) => p.includes('limits.maxPacketSize must be >=')), problems.join('\n'))
})

test.run()
