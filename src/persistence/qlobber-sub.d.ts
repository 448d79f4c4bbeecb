// Types for the subscription trie aedes-persistence uses (qlobber ships none).
declare module 'qlobber/aedes/qlobber-sub.js' {
  /** One persistent QoS > 0 subscription in the trie. */
  interface TrieSub { clientId: string, topic: string, qos?: number, rh?: number, rap?: boolean, nl?: boolean }
  /** A topic trie keyed by (topic, clientId) with a subscription count. */
  class QlobberSub {
    constructor (options: { wildcard_one: string, wildcard_some: string, separator: string, match_empty_levels?: boolean })
    subscriptionsCount: number
    add (topic: string, sub: TrieSub): this
    remove (topic: string, sub: { clientId: string, topic: string }): this
    match (topic: string): TrieSub[]
  }
  export default QlobberSub
}
