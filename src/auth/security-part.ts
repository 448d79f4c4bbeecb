// Adapts attachSecurity to the broker's part interface (src/parts.ts): the
// security sublevel of the store holds bans and client-id bindings.
import type { AttachPart } from '../broker.ts'
import { attachSecurity, type SecurityStore } from './attach-security.ts'

/** The security part for startBroker(config, logger, [securityPart, ...]). */
export const securityPart: AttachPart = async (ctx) => {
  const sub = ctx.store.sublevel('security')
  const store: SecurityStore = {
    put: async (key, value) => { await sub.put(key, Buffer.from(value, 'utf8')) },
    del: async (key) => { await sub.del(key) },
    iterator: (options) => sub.iterator(options) as AsyncIterable<[unknown, unknown]>
  }
  return await attachSecurity({ hooks: ctx.hooks, config: ctx.config, store, logger: ctx.logger, control: ctx.control, observe: ctx.observe })
}
