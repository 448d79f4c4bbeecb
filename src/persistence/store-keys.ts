// Key layout of the one LevelDB. Binary keys, one kind byte first, so each kind
// is one contiguous range and each client's queue is one contiguous sub-range
// in enqueue order: draining an offline queue is a single range scan.
//
//   M <name>                          meta (format version, sequence reserve, last sync)
//   S <len16><clientId><topic>        a subscription of a persistent session
//   O <len16><clientId><seq64>        a queued (outgoing) message, in enqueue order
//   U <len16><clientId><seq64>        its packet id once sent / PUBREL phase (tiny)
//   I <len16><clientId><msgId32>      incoming QoS 2 packet awaiting PUBREL
//   R <topic>                         a retained message (prefix scans by literal filter prefix)
//   W <len16><clientId>               a will
//   P <len16><clientId>               a persistent session exists (kept with no subscriptions too)
//   J <seq64>                         incoming journal: acknowledged, not yet routed
//   Q <original key>                  quarantined record (undecodable), kept for forensics
//   !<name>!...                       sublevels of other parts (bans, bridge queues)
//
// Client ids and topics are length-prefixed or last, so no separator byte can
// be forged by a client id to reach into another client's range.

/** Kind bytes of the key layout. */
export const KIND = {
  META: 0x4d, SUB: 0x53, OUT: 0x4f, OUT_STATE: 0x55, INCOMING: 0x49, RETAINED: 0x52, WILL: 0x57, JOURNAL: 0x4a, QUARANTINE: 0x51, SESSION: 0x50
} as const

/** Human names of the kinds (stats and logs). */
export const KIND_NAMES: Record<number, string> = {
  [KIND.META]: 'meta', [KIND.SUB]: 'subscriptions', [KIND.OUT]: 'outgoing', [KIND.OUT_STATE]: 'outgoingState',
  [KIND.INCOMING]: 'incoming', [KIND.RETAINED]: 'retained', [KIND.WILL]: 'wills', [KIND.JOURNAL]: 'journal', [KIND.QUARANTINE]: 'quarantine', [KIND.SESSION]: 'sessions'
}

/** A meta key. */
export function metaKey (name: string): Buffer {
  return Buffer.concat([Buffer.of(KIND.META), Buffer.from(name, 'utf8')])
}

// Prefixes are rebuilt per message otherwise (two or three per delivery); a
// small cache of recent clients saves the allocations. Callers never mutate them.
const prefixCache = new Map<string, Buffer>()
const PREFIX_CACHE_MAX = 4096

/** The prefix `<kind><len16><clientId>` of every per-client key (do not mutate the result). */
export function clientPrefix (kind: number, clientId: string): Buffer {
  const cacheKey = String.fromCharCode(kind) + clientId
  let prefix = prefixCache.get(cacheKey)
  if (prefix === undefined) {
    if (prefixCache.size >= PREFIX_CACHE_MAX) prefixCache.clear()
    prefix = buildClientPrefix(kind, clientId)
    prefixCache.set(cacheKey, prefix)
  }
  return prefix
}

function buildClientPrefix (kind: number, clientId: string): Buffer {
  const id = Buffer.from(clientId, 'utf8')
  if (id.length > 0xffff) throw new RangeError('client id longer than 65535 bytes')
  const out = Buffer.allocUnsafe(3 + id.length)
  out[0] = kind
  out.writeUInt16BE(id.length, 1)
  id.copy(out, 3)
  return out
}

/** Key of one subscription. */
export function subKey (clientId: string, topic: string): Buffer {
  return Buffer.concat([clientPrefix(KIND.SUB, clientId), Buffer.from(topic, 'utf8')])
}

/** Splits a subscription key into client id and topic. */
export function parseSubKey (key: Buffer): { clientId: string, topic: string } {
  const n = key.readUInt16BE(1)
  return { clientId: key.toString('utf8', 3, 3 + n), topic: key.toString('utf8', 3 + n) }
}

/** Key of a queued message (`kind` OUT or OUT_STATE) at sequence `seq`. */
export function seqKey (prefix: Buffer, seq: number): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + 8)
  out.set(prefix, 0) // TypedArray#set: Buffer#copy's argument checks cost more than the copy of a key (2 % of the enqueue profile)
  writeSeq(out, prefix.length, seq)
  return out
}

/** Sequence number at the end of a queue or journal key. */
export function readSeqAtEnd (key: Buffer): number {
  return readSeq(key, key.length - 8)
}

/** Client id of any per-client key. */
export function readClientId (key: Buffer): string {
  return key.toString('utf8', 3, 3 + key.readUInt16BE(1))
}

/** Range options covering every key that starts with `prefix`. */
export function prefixRange (prefix: Buffer): { gte: Buffer, lt: Buffer } | { gte: Buffer } {
  const end = Buffer.from(prefix)
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) { end[i]++; return { gte: prefix, lt: end.subarray(0, i + 1) } }
  }
  return { gte: prefix }
}

/** Key of an incoming QoS 2 packet. */
export function incomingKey (clientId: string, messageId: number): Buffer {
  const p = clientPrefix(KIND.INCOMING, clientId)
  const out = Buffer.allocUnsafe(p.length + 4)
  p.copy(out, 0)
  out.writeUInt32BE(messageId >>> 0, p.length)
  return out
}

/** Key of a retained message. */
export function retainedKey (topic: string): Buffer {
  return Buffer.concat([Buffer.of(KIND.RETAINED), Buffer.from(topic, 'utf8')])
}

/** Key of a will. */
export function willKey (clientId: string): Buffer {
  return clientPrefix(KIND.WILL, clientId)
}

/** Key of a persistent session's marker. */
export function sessionKey (clientId: string): Buffer {
  return clientPrefix(KIND.SESSION, clientId)
}

/** Key of a journal entry. */
export function journalKey (seq: number): Buffer {
  const out = Buffer.allocUnsafe(9)
  out[0] = KIND.JOURNAL
  writeSeq(out, 1, seq)
  return out
}

/** Key a quarantined record is moved to. */
export function quarantineKey (original: Buffer): Buffer {
  return Buffer.concat([Buffer.of(KIND.QUARANTINE), original])
}

function writeSeq (buf: Buffer, off: number, seq: number): void {
  buf.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), off)
  buf.writeUInt32BE(seq >>> 0, off + 4)
}

function readSeq (buf: Buffer, off: number): number {
  return buf.readUInt32BE(off) * 0x1_0000_0000 + buf.readUInt32BE(off + 4)
}
