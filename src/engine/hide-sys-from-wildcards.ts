// Override: the persistence's createRetainedStreamCombi, which aedes reads for
// the retained messages sent on SUBSCRIBE.
// What aedes does: sends every retained message the subscription's filters
//   match by aedes-persistence's matcher, which lets `#` see retained $SYS
//   values.
// What edgemq does instead: [MQTT-4.7.2-1] a filter starting with + or # never
//   matches a topic starting with $, retained messages included.
// Canary: test/engine/v5-shim-internals.test.ts (the call exists and returns
//   a Readable with .filter).
import { topicMatches } from '../persistence/topic-filter.ts'
import type { AnyPacket, V5ShimContext } from './v5-shim-context.ts'

/** Wraps persistence.createRetainedStreamCombi so wildcard filters do not see $ topics. */
export function hideSysFromWildcards (ctx: V5ShimContext): void {
  const persistence = ctx.broker.persistence
  const retainedStream = persistence.createRetainedStreamCombi.bind(persistence)
  persistence.createRetainedStreamCombi = (patterns) => {
    const stream = retainedStream(patterns)
    // Only a filter whose first level is + or # can match a $ topic it must not: for the others
    // (most SUBSCRIBEs) no filter stream is built (one stream and a controller per SUBSCRIBE).
    if (!patterns.some(startsWithWildcard)) return stream
    return stream.filter((packet: AnyPacket) =>
      typeof packet.topic !== 'string' || packet.topic[0] !== '$' || patterns.some((p) => topicMatches(p, packet.topic)))
  }
}

function startsWithWildcard (pattern: string): boolean {
  const first = pattern.charCodeAt(0)
  return first === 43 || first === 35 // + or #
}
