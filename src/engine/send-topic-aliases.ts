// Override: topic aliases from the server to v5 clients (MQTT 5.0 §3.3.2.3.4).
// What aedes 2.0.0-beta.1 does: it resolves the aliases clients send, and
//   never sends one: every PUBLISH carries its full topic name.
// What edgemq does instead (limits.sendTopicAliases, on by default): a v5
//   client that advertises a Topic Alias Maximum in CONNECT gets aliases, at
//   most min(its maximum, limits.topicAliasBudget), for the topics it receives
//   most often (src/protocol/outbound-topic-aliases.ts); the first PUBLISH
//   with an alias carries the topic too, later ones an empty topic
//   [MQTT-3.3.2-12]. A client that advertises none (or 0) never gets one
//   [MQTT-3.3.2-8]. The table lives as long as the connection, as the spec
//   scopes aliases [MQTT-3.3.2-10]. Aliases are set where the PUBLISH is
//   written (src/engine/watch-written-packets.ts), on a copy of the packet.
// Canary: test/engine/send-topic-aliases.test.ts.
import { OutboundTopicAliases } from '../protocol/outbound-topic-aliases.ts'
import { addPacketFilter } from './intercept-parsed-packets.ts'
import { watchWrittenPackets } from './watch-written-packets.ts'

/** The alias tables of v5 connections that advertised a Topic Alias Maximum. */
const tables = new WeakMap<object, OutboundTopicAliases>()

/** Settings read at each CONNECT (so a reload applies to new connections). */
export interface TopicAliasSettings {
  enabled: boolean
  /** Most aliases per connection, whatever the client allows. */
  budget: number
}

function aliasPublish (packet: Record<string, any> & { cmd: string }, stream: object): undefined | (Record<string, any> & { cmd: string }) {
  if (packet.cmd !== 'publish') return undefined
  const table = tables.get(stream)
  if (table === undefined || typeof packet.topic !== 'string') return undefined
  const choice = table.choose(packet.topic)
  if (choice.alias === undefined) return undefined
  return { ...packet, topic: choice.topic, properties: { ...packet.properties, topicAlias: choice.alias } }
}

/** Installs the override (after the other engine overrides: it must see the PUBLISH last, just before it is encoded). */
export function installSendTopicAliases (aedes: unknown, mqttPacket: unknown, settings: () => TopicAliasSettings): void {
  watchWrittenPackets(mqttPacket, aliasPublish)
  addPacketFilter(aedes, (client, packet) => {
    if (packet.cmd !== 'connect' || packet.protocolVersion !== 5) return true
    const wanted = packet.properties?.topicAliasMaximum
    const s = settings()
    if (s.enabled && s.budget > 0 && typeof wanted === 'number' && wanted > 0) tables.set(client.conn as object, new OutboundTopicAliases(Math.min(wanted, s.budget)))
    return true
  })
}
