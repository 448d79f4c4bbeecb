import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MemoryBudget, pickHeaviestClients } from '../../src/limits/memory-budget.ts'

test('ok → soft → hard as use crosses the marks, counting entries', () => {
  const b = new MemoryBudget({ softMark: 100, hardMark: 200 })
  assert.is(b.update(50).state, 'ok')
  assert.is(b.update(120).state, 'soft')
  assert.is(b.update(250).state, 'hard')
  assert.equal(b.entered, { soft: 1, hard: 1 })
  assert.is(b.last.excess, 150)
})

test('leaving a state needs a margin below its mark (no flapping)', () => {
  const b = new MemoryBudget({ softMark: 100, hardMark: 200, hysteresis: 0.1 })
  b.update(210)
  assert.is(b.update(195).state, 'hard') // above 180
  assert.is(b.update(150).state, 'soft')
  assert.is(b.update(95).state, 'soft') // above 90
  assert.is(b.update(80).state, 'ok')
})

test('from hard straight to ok when use drops below both', () => {
  const b = new MemoryBudget({ softMark: 100, hardMark: 200 })
  b.update(300)
  assert.is(b.update(10).state, 'ok')
})

test('setMarks applies at the next reading', () => {
  const b = new MemoryBudget({ softMark: 100, hardMark: 200 })
  assert.is(b.update(150).state, 'soft')
  b.setMarks({ softMark: 1000, hardMark: 2000 })
  assert.is(b.update(150).state, 'ok')
})

test('heaviest clients first until the excess is covered, capped per round', () => {
  const clients = [{ id: 'a', weight: 10 }, { id: 'b', weight: 500 }, { id: 'c', weight: 0 }, { id: 'd', weight: 300 }]
  assert.equal(pickHeaviestClients(clients, 400, 10).map((c) => c.id), ['b'])
  assert.equal(pickHeaviestClients(clients, 700, 10).map((c) => c.id), ['b', 'd'])
  assert.equal(pickHeaviestClients(clients, 10_000, 2).map((c) => c.id), ['b', 'd'])
  assert.equal(pickHeaviestClients(clients, 10_000, 10).map((c) => c.id), ['b', 'd', 'a']) // never one holding nothing
})

test.run()
