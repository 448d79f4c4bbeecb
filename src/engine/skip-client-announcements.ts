// Override: the two messages aedes publishes for every client that comes and goes.
// What aedes 2.0.0-beta.1 does: on every registered client it publishes
//   `$SYS/<aedes id>/new/clients` and, when it leaves,
//   `$SYS/<aedes id>/disconnect/clients`, with the client id as payload
//   (aedes.js _finishRegisterClient, unregisterClient), through the whole
//   publish path: a Packet, a PublishState, the emitter's topic match, its own
//   `closeSameClients` listener. That listener only acts on a message from
//   another aedes instance sharing the emitter (a cluster); edgemq runs one
//   instance on its own emitter, so it never acts, and edgemq's
//   authorizeForward never delivers these topics to a client (they carry
//   client ids). In a connect storm the publish was ~5 % of the broker's CPU.
// What edgemq does instead: these two topics of its own instance are not
//   published; every other message, the heartbeat included, is.
// Canary: test/engine/skip-client-announcements.test.ts (the pinned aedes
//   still publishes both, and with the override neither reaches a listener).

type PublishDone = (err?: Error) => void

/** The aedes instance members this override uses. */
interface AnnouncingBroker {
  id: string
  publish: (packet: { topic: string }, client?: unknown, done?: PublishDone) => void
}

/** Installs the override on an aedes instance. */
export function installSkipClientAnnouncements (aedes: unknown): void {
  const broker = aedes as AnnouncingBroker
  const joined = `$SYS/${broker.id}/new/clients`
  const left = `$SYS/${broker.id}/disconnect/clients`
  const publish = broker.publish
  broker.publish = function publishUnlessAnnouncement (this: unknown, packet, client, done) {
    const topic = packet.topic
    // '$' first: one character compare for every other message
    if (topic.charCodeAt(0) === 36 && (topic === joined || topic === left)) {
      const cb = typeof client === 'function' ? client as PublishDone : done
      if (cb !== undefined) process.nextTick(cb)
      return
    }
    publish.call(this, packet, client, done)
  }
}
