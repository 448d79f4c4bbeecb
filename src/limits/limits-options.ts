// Options of the limits part (limits.* beyond the core ones in
// src/config/option-table.ts, and memory.*). Every row says why its default is
// what it is; docs/limits.md is generated from these rows and the boards.
import type { OptionSpec } from '../config/option-spec.ts'

/** limits.* rows owned by the limits part, and the memory budget. */
export const LIMITS_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'limits.maxQueuedMessages', type: 'int', unit: 'messages', default: 0, min: 0, reload: 'live', board: true,
    doc: 'Most messages queued on disk for one offline client; beyond, the oldest queued message makes room (0 = no count cap: persistence.maxQueuedBytes bounds the queue)',
    reason: 'edgemq queues on disk, not in RAM: a count cap of 1000 (Mosquitto\'s RAM-only default) threw away 2,000 of 3,000 acknowledged messages of a subscriber away for 3 s (issue 11); the queue is bounded by bytes and the board\'s storage instead'
  },
  {
    key: 'limits.maxQueuedBytes', type: 'size', unit: 'bytes', default: '8MB', min: 0, reload: 'live', board: true,
    doc: 'Bytes waiting on a connected client\'s socket above which QoS 0 to it is shed (0 = no cap); offline queues are bounded by persistence.maxQueuedBytes',
    reason: 'a slow consumer (failure-modes row 16) otherwise buffers every message in broker memory until drainTimeout'
  },
  {
    key: 'limits.queueFullPolicy', type: 'enum', values: ['drop-oldest', 'refuse-new'], default: 'drop-oldest', reload: 'live', board: true,
    doc: 'When an offline queue is full: drop-oldest makes room by dropping its oldest queued message; refuse-new keeps the queue and refuses the new message (an MQTT 5 publisher gets PUBACK/PUBREC 0x97 quota exceeded before anything is accepted; a 3.1.1 publisher cannot be told, the new message is dropped for that subscriber and counted)',
    reason: 'drop-oldest matches Mosquitto and keeps the freshest data for a returning sensor dashboard; refuse-new is for operators who must not lose what a queue already holds and whose publishers speak MQTT 5'
  },
  {
    key: 'limits.maxSubscriptionsPerClient', type: 'int', unit: 'filters', default: 1000, min: 0, reload: 'live', board: true,
    doc: 'Most topic filters one connection may hold; the excess gets SUBACK 0x80 / 0x97 (0 = no cap)',
    reason: 'failure-modes row 11: every filter is held in the RAM trie and persisted; aedes has no cap'
  },
  {
    key: 'limits.maxFiltersPerSubscribe', type: 'int', unit: 'filters', default: 100, min: 0, reload: 'live', board: true,
    doc: 'Most filters granted from one SUBSCRIBE packet; the excess gets a failure reason code (0 = no cap)',
    reason: 'failure-modes row 11: a 10,000-filter SUBSCRIBE is one packet of work the broker cannot interleave'
  },
  {
    key: 'limits.maxRetainedMessages', type: 'int', unit: 'messages', default: 100_000, min: 0, reload: 'live', board: true,
    doc: 'Most retained messages in the broker; a new retained topic beyond is refused (0 = no cap)',
    reason: 'failure-modes row 8: Mosquitto issue #3237 ran out of memory at 130,402 retained messages'
  },
  {
    key: 'limits.maxRetainedBytes', type: 'size', unit: 'bytes', default: '64MB', min: 0, reload: 'live', board: true,
    doc: 'Most payload bytes of all retained messages together (0 = no cap)',
    reason: 'retained messages are read back on every matching SUBSCRIBE; bounded so one can never exhaust the store'
  },
  {
    key: 'limits.maxRetainedMessagesPerClient', type: 'int', unit: 'messages', default: 1000, min: 0, reload: 'live', board: true,
    doc: 'Most retained topics whose last retained message came from one client id (0 = no cap)',
    reason: 'failure-modes row 8: one client must not take the whole retained budget'
  },
  {
    key: 'limits.maxRetainedBytesPerClient', type: 'size', unit: 'bytes', default: '1MB', min: 0, reload: 'live', board: true,
    doc: 'Most retained payload bytes from one client id (0 = no cap)',
    reason: 'a retained status per sensor topic is a few hundred bytes'
  },
  {
    key: 'limits.maxUnreleasedQos2', type: 'int', unit: 'messages', default: 100, min: 0, max: 65_535, reload: 'live', board: true,
    doc: 'Most QoS 2 PUBLISHes one client may leave without PUBREL; beyond, its connection is closed with 0x93 (0 = no cap)',
    reason: 'failure-modes row 10: aedes stores every unreleased QoS 2 with no cap or expiry (EMQX max_awaiting_rel 100)'
  },
  {
    key: 'limits.qos2Expiry', type: 'duration', unit: 'ms', default: '5m', min: 1000, reload: 'live', board: true,
    doc: 'How long an unreleased QoS 2 message is kept waiting for its PUBREL',
    reason: 'EMQX await_rel_timeout 300 s; a client that never releases must not pin state forever'
  },
  {
    key: 'memory.softMark', type: 'size', unit: 'bytes', reload: 'live', board: true,
    doc: 'Memory use above which new connections are refused (0x89), new retained messages refused and QoS 0 to slow consumers shed',
    reason: 'unset: 70% of the board memoryCapMiB (or of the cgroup limit, whichever is lower)'
  },
  {
    key: 'memory.hardMark', type: 'size', unit: 'bytes', reload: 'live', board: true,
    doc: 'Memory use above which the heaviest clients are disconnected until use falls below the soft mark',
    reason: 'unset: 85% of the board memoryCapMiB (or of the cgroup limit): room for GC and LevelDB before the OOM killer'
  },
  {
    key: 'memory.checkInterval', type: 'duration', unit: 'ms', default: '500ms', min: 50, max: 60_000, reload: 'live', board: true,
    doc: 'How often memory use is read (RSS, and the cgroup working set under a cgroup)',
    reason: 'a timer, not per packet: reading /proc costs ~20 µs; a 500 ms flood at 10 MB/s is 5 MB, within the hard-to-cap gap'
  },
  {
    key: 'memory.slowConsumerBytes', type: 'size', unit: 'bytes', default: '64KB', min: 0, reload: 'live', board: true,
    doc: 'Bytes waiting on a client\'s socket above which it counts as a slow consumer (QoS 0 to it is shed above the soft mark)',
    reason: 'a few socket buffers: a healthy subscriber on a LAN drains faster than this fills'
  },
  {
    key: 'memory.releaseAfterBurst', type: 'bool', default: true, reload: 'live', board: true,
    doc: 'After the heap grew by 8 MiB or more, run one full garbage collection once the broker has been quiet for 6 s (at most once a minute), so that V8 gives the memory back',
    reason: 'V8 keeps a burst\'s heap until a full collection, which a quiet broker never runs: RSS with 50k messages queued 84.6 -> 68.0 MiB (rpi-4b), 98.5 -> 75.1 MiB (generic-x64) (issue 11)'
  }
]
