// "floor": the least a broker on Node and LevelDB must do on issue 11's drain
// path, and nothing else. Not a product and not for use: a bench baseline that
// tells how close to Mosquitto any broker of this runtime and store can get on
// the drain, whatever its engine (docs/persistence.md, round 9).
//
//   node [heap flags] test/bench/floor-broker.mjs <port> <data dir> <board.json>
//
// What it does: MQTT 3.1.1 only; CONNECT (CONNACK with session present when
// the client id has a session on disk), SUBSCRIBE of one exact topic at QoS 1,
// PUBLISH at QoS 1 to an exact topic (stored as the ready PUBLISH bytes for the
// one session subscribed to it, PUBACK once the batch holding it is written),
// and on reconnect the stored messages in order, the board's limits.maxInflight
// unacknowledged at most (the window the bench gives every broker), each
// deleted on its PUBACK. Tuned as far as a short program goes: PUBACKs are
// framed and handled without the MQTT parser, the window is refilled once per
// event-loop turn (one write for the PUBACKs of one read), and LevelDB gets
// one batch per turn.
// What it leaves out, which edgemq does: authentication, authorization,
// wildcards and fan-out, QoS 0 and 2, MQTT 5, retained messages, wills,
// live delivery to a connected subscriber, DUP on resend, packet-id reuse
// across restarts, record checksums and quarantine, queue bounds, sync to
// disk, limits, metrics and logs. LevelDB gets the board's cacheSize and
// writeBufferSize, V8 the board's heap flags (given by the harness).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'

const require = createRequire(import.meta.url)
const mqttPacket = require('mqtt-packet')
const { ClassicLevel } = require('classic-level')

const [portArg, dir, boardFile] = process.argv.slice(2)
const port = Number(portArg)
if (!Number.isInteger(port) || port <= 0 || port > 65_535 || dir === undefined || boardFile === undefined) {
  console.error('usage: node test/bench/floor-broker.mjs <port 1-65535> <data dir> <board.json>')
  process.exit(2)
}
/** "16MB" / "512KB" / a number of bytes, as the board files write sizes. */
function bytesOf (size) {
  const m = /^(\d+)\s*(B|KB|MB|GB)?$/i.exec(String(size))
  if (m === null) throw new Error(`floor-broker: "${size}" in ${boardFile} is not a size`)
  return Number(m[1]) * { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[(m[2] ?? 'B').toUpperCase()]
}
const settings = JSON.parse(readFileSync(boardFile, 'utf8')).settings ?? {}
const persistence = settings.persistence ?? {}
const db = new ClassicLevel(dir, {
  keyEncoding: 'utf8',
  valueEncoding: 'buffer',
  cacheSize: bytesOf(persistence.cacheSize ?? '8MB'),
  writeBufferSize: bytesOf(persistence.writeBufferSize ?? '4MB')
})
await db.open()

/** Unacknowledged PUBLISH per client, as the bench gives Mosquitto and edgemq (20: edgemq's option default). */
const WINDOW = settings.limits?.maxInflight ?? 20
/** Records per LevelDB read on replay. */
const READ_BATCH = 256
const SESSION = 's!'
const QUEUE = 'q!'

/** topic -> the client id subscribed to it; and every client id with a session on disk. */
const subscriber = new Map()
const sessions = new Set()
for await (const [key, topic] of db.iterator({ gt: SESSION, lt: 's"', valueEncoding: 'utf8' })) {
  const clientId = key.slice(SESSION.length)
  sessions.add(clientId)
  if (topic !== '') subscriber.set(topic, clientId)
}
// Queue keys sort in arrival order: a start time and a counter, both fixed width.
const epoch = Date.now().toString(36).padStart(9, '0')
let counter = 0
const queueKey = (clientId) => `${QUEUE}${clientId}!${epoch}${(counter++).toString(36).padStart(8, '0')}`

// Group commit: every put and delete of one event-loop turn in one batch, and
// one batch written at a time. classic-level writes each batch from a thread of
// libuv's pool, so two in flight at once can land in either order (a session's
// empty record from its CONNECT over its SUBSCRIBE's topic).
let batch = null
let afterWrite = []
let written = Promise.resolve()
function stage (apply, done) {
  if (batch === null) {
    batch = db.batch()
    setImmediate(commit)
  }
  apply(batch)
  if (done !== undefined) afterWrite.push(done)
}
function commit () {
  const writing = batch
  const waiting = afterWrite
  batch = null
  afterWrite = []
  written = written.then(() => writing.write()).then(() => { for (const done of waiting) done() }, (err) => {
    console.error(`floor-broker: a batch write failed: ${err.message}`)
    process.exit(1)
  })
}

const connack = (present) => Buffer.from([0x20, 2, present ? 1 : 0, 0])
const suback = (id) => Buffer.from([0x90, 3, id >> 8, id & 0xff, 1])
const puback = (id) => Buffer.from([0x40, 2, id >> 8, id & 0xff])

/** Bytes of the whole packet starting at `at` (fixed header included); undefined while its header is incomplete, -1 when malformed. */
function frameLength (data, at) {
  let size = 0
  let multiplier = 1
  for (let i = at + 1; i < at + 5; i++) {
    if (i >= data.length) return undefined
    size += (data[i] & 0x7f) * multiplier
    if ((data[i] & 0x80) === 0) return i - at + 1 + size
    multiplier *= 128
  }
  return -1
}

/** Where the packet id sits in stored PUBLISH bytes: after the fixed header's length and the topic. */
function packetIdOffset (bytes) {
  let at = 1
  while ((bytes[at] & 0x80) !== 0) at++
  at++
  return at + 2 + bytes.readUInt16BE(at)
}

const server = createServer((socket) => {
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  let clientId
  let reader
  let buffered = []
  let reading = false
  let closed = false
  let nextId = 1
  let refillDue = false
  const inflight = new Map()

  // Sends stored messages until the window is full or the queue is empty.
  async function replay () {
    if (reading || closed || reader === undefined) return
    reading = true
    try {
      while (inflight.size < WINDOW && !closed) {
        if (buffered.length === 0) {
          buffered = await reader.nextv(READ_BATCH)
          if (buffered.length === 0) {
            await reader.close()
            reader = undefined
            break
          }
        }
        const out = []
        while (inflight.size < WINDOW && buffered.length > 0) {
          const [key, bytes] = buffered.shift()
          const id = nextId
          nextId = nextId === 65_535 ? 1 : nextId + 1
          bytes.writeUInt16BE(id, packetIdOffset(bytes))
          inflight.set(id, key)
          out.push(bytes)
        }
        socket.write(out.length === 1 ? out[0] : Buffer.concat(out))
      }
    } finally {
      reading = false
    }
  }

  // A PUBACK deletes its message; the window is refilled once per event-loop
  // turn, so the PUBACKs of one read free their slots before one write refills them.
  function acknowledged (id) {
    const key = inflight.get(id)
    if (key === undefined) return
    inflight.delete(id)
    stage((b) => b.del(key))
    if (refillDue) return
    refillDue = true
    setImmediate(() => {
      refillDue = false
      replay().catch(fail)
    })
  }

  parser.on('packet', (packet) => {
    switch (packet.cmd) {
      case 'connect': {
        clientId = packet.clientId
        const present = !packet.clean && sessions.has(clientId)
        if (!packet.clean && !sessions.has(clientId)) {
          sessions.add(clientId)
          stage((b) => b.put(SESSION + clientId, Buffer.alloc(0)))
        }
        socket.write(connack(present))
        if (present) {
          reader = db.iterator({ gt: `${QUEUE}${clientId}!`, lt: `${QUEUE}${clientId}"` })
          replay().catch(fail)
        }
        break
      }
      case 'subscribe': {
        const { topic } = packet.subscriptions[0]
        subscriber.set(topic, clientId)
        stage((b) => b.put(SESSION + clientId, Buffer.from(topic)), () => socket.write(suback(packet.messageId)))
        break
      }
      case 'publish': {
        const to = subscriber.get(packet.topic)
        if (to === undefined || packet.qos !== 1) break
        const stored = mqttPacket.generate({ cmd: 'publish', topic: packet.topic, payload: packet.payload, qos: 1, messageId: 1 })
        stage((b) => b.put(queueKey(to), stored), () => socket.write(puback(packet.messageId)))
        break
      }
      case 'puback':
        acknowledged(packet.messageId)
        break
      case 'disconnect':
        socket.end()
        break
    }
  })
  parser.on('error', (err) => socket.destroy(err))
  // Framing of our own: whole packets only, a PUBACK handled here (the drain's
  // most common packet), every other packet through mqtt-packet.
  let pending = Buffer.alloc(0)
  socket.on('data', (chunk) => {
    const data = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    let at = 0
    for (;;) {
      const length = frameLength(data, at)
      if (length === -1) {
        socket.destroy(new Error('malformed remaining length'))
        return
      }
      if (length === undefined || at + length > data.length) break
      if (data[at] === 0x40 && length === 4) acknowledged(data.readUInt16BE(at + 2))
      else parser.parse(data.subarray(at, at + length))
      at += length
    }
    pending = at === data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(at))
  })
  socket.on('error', () => {})
  socket.on('close', () => {
    closed = true
    if (reader !== undefined) reader.close().catch(() => {})
  })
})

function fail (err) {
  console.error(`floor-broker: ${err.stack ?? err}`)
  process.exit(1)
}

server.listen(port, '127.0.0.1', () => {
  console.error(`${new Date().toISOString()} info floor-broker: listening host=127.0.0.1 port=${port} pid=${process.pid}`)
})
const stop = () => {
  server.close()
  if (batch !== null) commit()
  // the last batch's write, then LevelDB's own close
  written.then(() => db.close()).then(() => process.exit(0), fail)
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
