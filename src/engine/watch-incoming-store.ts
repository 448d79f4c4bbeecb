// Override: the aedes-persistence calls aedes makes for an incoming QoS 2
// message (incomingStorePacket on PUBLISH, incomingDelPacket on PUBREL).
// What aedes does: stores the message on PUBLISH and deletes it on PUBREL with
//   no bound on how many a client leaves unreleased, and no event edgemq can
//   count them by.
// What edgemq does instead: wraps both calls on the store object handed to
//   aedes, and the engine turns them into the hook lists qos2Stored and
//   qos2Released, so limits.maxUnreleasedQos2 (src/limits/unreleased-qos2.ts)
//   sees every stored and released message without an aedes type.
// Canary: test/engine/watch-incoming-store.test.ts (aedes still calls both on
//   a QoS 2 PUBLISH / PUBREL with the client and the packet id).

/** Who is told about each stored and released message. */
export interface IncomingQos2Observer {
  stored: (clientId: string, messageId: number) => void
  released: (clientId: string, messageId: number) => void
}

/** The two aedes-persistence calls watched (duck-typed: no aedes types here). */
interface IncomingStore {
  incomingStorePacket?: (client: { id: string }, packet: { messageId?: number }) => Promise<void>
  incomingDelPacket?: (client: { id: string }, packet: { messageId?: number }) => Promise<void>
}

/**
 * Wraps the store's incomingStorePacket / incomingDelPacket so `tracker` sees
 * every stored and released QoS 2 message. Returns the unwrap function and the
 * original delete (used to drop expired messages); undefined when the store
 * lacks those calls.
 */
export function watchIncomingStore (store: unknown, tracker: IncomingQos2Observer): { unwrap: () => void, drop: (clientId: string, messageId: number) => Promise<void> } | undefined {
  const s = store as IncomingStore | undefined
  if (typeof s?.incomingStorePacket !== 'function' || typeof s.incomingDelPacket !== 'function') return undefined
  const hadOwn = { store: Object.hasOwn(s, 'incomingStorePacket'), del: Object.hasOwn(s, 'incomingDelPacket') }
  const originalStore = s.incomingStorePacket
  const originalDel = s.incomingDelPacket
  s.incomingStorePacket = async function (client, packet) {
    await originalStore.call(this, client, packet)
    if (typeof packet.messageId === 'number') tracker.stored(client.id, packet.messageId)
  }
  s.incomingDelPacket = async function (client, packet) {
    if (typeof packet.messageId === 'number') tracker.released(client.id, packet.messageId)
    await originalDel.call(this, client, packet)
  }
  return {
    unwrap: () => {
      if (hadOwn.store) s.incomingStorePacket = originalStore; else delete s.incomingStorePacket
      if (hadOwn.del) s.incomingDelPacket = originalDel; else delete s.incomingDelPacket
    },
    drop: async (clientId, messageId) => { await originalDel.call(s, { id: clientId }, { messageId }) }
  }
}
