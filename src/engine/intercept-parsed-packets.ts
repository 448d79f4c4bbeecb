// Override: a look at each packet (and parse error) before aedes handles it.
// What aedes 2.0.0-beta.1 does: its client listens to `client._parser`'s
//   'packet' and 'error' events (lib/client.js) and handles whatever
//   mqtt-packet parsed.
// What edgemq does instead: overrides that must refuse a packet first (the
//   server's Receive Maximum, bad acknowledgements, CONNECT checks) put a
//   filter in front of aedes's listeners with these two functions; a filter
//   returns false when it has dealt with the packet (closed the connection),
//   and aedes's listeners then never see it. src/protocol/aedes-v5-shims.ts
//   wraps the same events its own way (its guard runs after these filters).
// Canary: test/engine/enforce-receive-maximum.test.ts (the parser events).
import type { EventEmitter } from 'node:events'

type AnyPacket = Record<string, any> & { cmd: string }

/** Puts `filter` in front of the parser's current 'packet' listeners. */
export function interceptParsedPackets (parser: EventEmitter, filter: (packet: AnyPacket) => boolean): void {
  const listeners = parser.listeners('packet') as Array<(packet: AnyPacket) => void>
  parser.removeAllListeners('packet')
  parser.on('packet', function onPacket (this: unknown, packet: AnyPacket) {
    if (!filter(packet)) return
    for (const l of listeners) l.call(this, packet)
  })
}

/** Puts `filter` in front of the parser's current 'error' listeners. */
export function interceptParseErrors (parser: EventEmitter, filter: (err: Error) => boolean): void {
  const listeners = parser.listeners('error') as Array<(err: Error) => void>
  parser.removeAllListeners('error')
  parser.on('error', function onError (this: unknown, err: Error) {
    if (!filter(err)) return
    for (const l of listeners) l.call(this, err)
  })
}
