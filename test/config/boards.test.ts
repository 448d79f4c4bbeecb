import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdir, readFile } from 'node:fs/promises'
import { BOARDS, detectBoard, getBoard } from '../../src/config/boards.ts'

const probe = (model: string | undefined, memoryMiB?: number) => ({ model: async () => model, memoryMiB: async () => memoryMiB, arch: () => 'arm64' })

test('detects boards from /proc/device-tree/model', async () => {
  assert.is((await detectBoard(probe('Raspberry Pi Zero 2 W Rev 1.0', 427))).board.name, 'rpi-zero-2w')
  assert.is((await detectBoard(probe('Raspberry Pi 5 Model B Rev 1.0', 8000))).board.name, 'rpi-5')
  assert.is((await detectBoard(probe('Raspberry Pi Compute Module 4 Rev 1.1', 3800))).board.name, 'cm4')
  assert.is((await detectBoard(probe('Raspberry Pi 3 Model B Plus Rev 1.3', 900))).board.name, 'rpi-3b-plus')
})

test('picks the Pi 4 variant from the RAM', async () => {
  assert.is((await detectBoard(probe('Raspberry Pi 4 Model B Rev 1.4', 925))).board.name, 'rpi-4b-1gb')
  assert.is((await detectBoard(probe('Raspberry Pi 4 Model B Rev 1.4', 7800))).board.name, 'rpi-4b')
})

test('falls back to generic with the reason', async () => {
  const none = await detectBoard(probe(undefined))
  assert.is(none.board.name, 'generic')
  assert.match(none.reason, 'no /proc/device-tree/model')
  const other = await detectBoard(probe('Some Other Board'))
  assert.is(other.board.name, 'generic')
  assert.match(other.reason, 'Some Other Board')
})

test('getBoard names the choices when the board is unknown', () => {
  assert.throws(() => getBoard('pi'), /unknown board "pi": use one of rpi-zero-2w, /)
})

test('every boards/*.json is embedded, named after its file, and matches the schema fields', async () => {
  const files = (await readdir(new URL('../../boards/', import.meta.url))).filter((f) => f.endsWith('.json') && f !== 'schema.json')
  assert.equal(files.map((f) => f.replace('.json', '')).sort(), BOARDS.map((b) => b.name).sort())
  const schema = JSON.parse(await readFile(new URL('../../boards/schema.json', import.meta.url), 'utf8')) as { required: string[], properties: Record<string, unknown> }
  for (const b of BOARDS) {
    for (const key of schema.required) assert.ok(key in b, `${b.name} lacks ${key}`)
    for (const key of Object.keys(b)) assert.ok(key in schema.properties, `${b.name} has unknown ${key}`)
    assert.ok(['arm64', 'armhf', 'amd64'].includes(b.arch))
    assert.ok(b.memoryCapMiB < b.memoryMiB, `${b.name}: the cap leaves room for the OS`)
  }
})

test('the required boards are all there', () => {
  for (const name of ['rpi-zero-2w', 'rpi-3b-plus', 'rpi-4b', 'rpi-5', 'cm4', 'generic-arm64', 'generic-x64', 'generic']) getBoard(name)
})

test.run()
