// Override: the messages aedes publishes for every client that comes and goes
// and every SUBSCRIBE and UNSUBSCRIBE.
// What aedes 2.0.0-beta.1 does: on every registered client it publishes
//   `$SYS/<aedes id>/new/clients` and, when it leaves,
//   `$SYS/<aedes id>/disconnect/clients`, with the client id as payload
//   (aedes.js _finishRegisterClient, unregisterClient); after every SUBSCRIBE
//   and UNSUBSCRIBE `$SYS/<aedes id>/new/subscribes` / `new/unsubscribes`
//   with the client id and filters as JSON (lib/handlers/subscribe.js,
//   unsubscribe.js); each through the whole publish path: a Packet, a
//   PublishState, the emitter's topic match. The only listener is aedes's own
//   `closeSameClients` on new/clients, which acts only on a message from
//   another aedes instance sharing the emitter (a cluster); edgemq runs one
//   instance on its own emitter, so it never acts, and edgemq's
//   authorizeForward never delivers these topics to a client (they carry
//   client ids). In a connect storm the publish was ~5 % of the broker's CPU,
//   and ~2 % more with a SUBSCRIBE per client.
// What edgemq does instead: these four topics of its own instance are not
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
  const subscribed = `$SYS/${broker.id}/new/subscribes`
  const unsubscribed = `$SYS/${broker.id}/new/unsubscribes`
  const publish = broker.publish
  broker.publish = function publishUnlessAnnouncement (this: unknown, packet, client, done) {
    const topic = packet.topic
    // '$' first: one character compare for every other message
    if (topic.charCodeAt(0) === 36 && (topic === joined || topic === left || topic === subscribed || topic === unsubscribed)) {
      const cb = typeof client === 'function' ? client as PublishDone : done
      if (cb !== undefined) process.nextTick(cb)
      return
    }
    publish.call(this, packet, client, done)
  }
}
