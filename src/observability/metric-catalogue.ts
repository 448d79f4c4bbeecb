// Every metric edgemq exports: name, type, labels and meaning. The registry
// (metrics-registry.ts) builds one prom-client metric per row; the parts feed
// them at scrape time. docs/observability.md lists the same rows and
// test/observability/metrics-docs.test.ts fails when the two drift.
// Prometheus style: `edgemq_` prefix, base units in the name (seconds, bytes),
// `_total` on counters.

/** One metric. */
export interface MetricDef {
  name: string
  type: 'counter' | 'gauge'
  labels: readonly string[]
  help: string
}

const c = (name: string, labels: readonly string[], help: string): MetricDef => ({ name, type: 'counter', labels, help })
const g = (name: string, labels: readonly string[], help: string): MetricDef => ({ name, type: 'gauge', labels, help })

/** The catalogue, in the order of docs/observability.md. */
export const METRICS: readonly MetricDef[] = [
  // broker and connections
  g('edgemq_up', [], 'Always 1 while the broker answers; the labels of edgemq_build_info say which build'),
  g('edgemq_build_info', ['version', 'board'], 'Always 1; the version and the board profile in force'),
  g('edgemq_ready', [], '1 when the broker is ready (store open, every listener bound, every part started), else 0'),
  g('edgemq_listener_up', ['listener', 'type'], '1 when the listener is bound, 0 when it is configured but not bound'),
  g('edgemq_connections', ['listener', 'protocol'], 'MQTT clients connected now, by listener and protocol version (3.1, 3.1.1, 5.0)'),
  g('edgemq_sockets_open', [], 'Sockets open on MQTT listeners, including those still before CONNECT'),
  c('edgemq_connects_total', [], 'CONNECTs accepted (CONNACK success)'),
  c('edgemq_connects_refused_total', ['reason'], 'Connections refused, by reason: a CONNACK reason name, or accept (IP rules, bans, caps and rates before any MQTT byte), or malformed'),
  // messages
  c('edgemq_messages_received_total', ['qos'], 'PUBLISH packets accepted from clients, by QoS'),
  c('edgemq_received_bytes_total', ['qos'], 'Payload bytes of the PUBLISH packets accepted, by QoS'),
  c('edgemq_messages_sent_total', ['qos'], 'Messages handed to subscribers for delivery, by the QoS of the message'),
  c('edgemq_sent_bytes_total', ['qos'], 'Payload bytes handed to subscribers for delivery, by the QoS of the message'),
  c('edgemq_messages_dropped_total', ['reason'], 'Messages dropped or refused, by reason: queue_cap, queue_quota (a user\'s or group\'s offline-queue budget), throttle, memory_budget, size, acl, qos2_cap, qos2_expired, retained_quota'),
  g('edgemq_inflight_messages', [], 'Outgoing QoS 1/2 messages sent to connected clients and awaiting PUBACK / PUBREC / PUBCOMP, over all connections'),
  c('edgemq_subscriptions_refused_total', ['reason'], 'SUBSCRIBE filters refused, by reason: acl, limits'),
  // state
  g('edgemq_retained_messages', [], 'Retained messages held'),
  g('edgemq_retained_bytes', [], 'Payload bytes of the retained messages held'),
  g('edgemq_subscriptions', [], 'Subscriptions of persistent sessions in the store'),
  g('edgemq_sessions', [], 'Persistent sessions in the store'),
  // store
  g('edgemq_store_open', [], '1 when the LevelDB store is open'),
  g('edgemq_journal_pending_messages', [], 'Accepted messages journaled and not yet routed and persisted'),
  g('edgemq_store_size_bytes', [], 'Bytes of the LevelDB folder on disk (read at most every 30 s)'),
  c('edgemq_store_syncs_total', [], 'fsyncs of the store'),
  c('edgemq_store_sync_seconds_total', [], 'Time spent in store batches written with fsync; divided by edgemq_store_syncs_total: mean sync latency'),
  g('edgemq_store_last_sync_seconds', [], 'Duration of the last synced batch'),
  g('edgemq_offline_queue_messages', [], 'Messages queued in the store for persistent sessions, connected or not (absent until the count after start is done)'),
  g('edgemq_offline_queue_bytes', [], 'Stored bytes of those messages (absent until the count after start is done)'),
  c('edgemq_offline_queue_dropped_total', [], 'Messages dropped from full offline queues (limits.maxQueuedMessages, maxQueuedBytes) and full per-user / per-group queue budgets'),
  // security
  g('edgemq_bans_active', [], 'IP addresses (or IPv6 prefixes) banned now'),
  c('edgemq_lockouts_total', [], 'Bans imposed after repeated authentication failures since start'),
  c('edgemq_auth_failures_total', [], 'Failed authentications (MQTT CONNECT and HTTP Basic) that count toward a ban'),
  // limits and throttle
  c('edgemq_throttle_wait_seconds_total', [], 'Time PUBLISH packets were held by the inbound throttles'),
  g('edgemq_memory_budget_level', [], 'Memory budget state: 0 ok, 1 above the soft mark, 2 above the hard mark'),
  g('edgemq_memory_used_bytes', [], 'Memory the budget measures (RSS, or the cgroup\'s use when it is lower)'),
  g('edgemq_memory_soft_mark_bytes', [], 'Soft mark of the memory budget'),
  g('edgemq_memory_hard_mark_bytes', [], 'Hard mark of the memory budget'),
  g('edgemq_memory_cap_bytes', [], 'Memory cap of the board (cgroup limit or board profile)'),
  c('edgemq_memory_releases_total', [], 'Full garbage collections run once the broker went quiet after its heap grew (memory.releaseAfterBurst)'),
  g('edgemq_process_resident_memory_bytes', [], 'Resident set size of the process'),
  g('edgemq_heap_used_bytes', [], 'V8 heap in use'),
  g('edgemq_event_loop_delay_seconds', ['quantile'], 'Event-loop delay in the current window of at most a minute (quantile 0.5, 0.99, 1 = max); only while an http listener is configured'),
  // bridges
  g('edgemq_bridge_up', ['bridge'], '1 when the bridge is connected upstream'),
  g('edgemq_bridge_enabled', ['bridge'], '1 when the bridge is enabled in the config'),
  g('edgemq_bridge_queue_messages', ['bridge'], 'Messages in the bridge\'s disk queue'),
  g('edgemq_bridge_queue_bytes', ['bridge'], 'Bytes in the bridge\'s disk queue'),
  g('edgemq_bridge_queue_oldest_age_seconds', ['bridge'], 'Age of the oldest message in the bridge queue (0 when empty)'),
  g('edgemq_bridge_inflight_messages', ['bridge'], 'Messages sent upstream and not yet acknowledged'),
  c('edgemq_bridge_forwarded_total', ['bridge'], 'Messages taken into the bridge queue for upstream'),
  c('edgemq_bridge_acked_total', ['bridge'], 'Messages acknowledged by the upstream broker (removed from the queue)'),
  c('edgemq_bridge_retried_total', ['bridge'], 'Connection attempts upstream that failed (each is retried after a backoff)'),
  c('edgemq_bridge_dropped_total', ['bridge', 'reason'], 'Messages the bridge dropped, by reason: queue_full, refused, corrupt, rejected_upstream'),
  c('edgemq_bridge_received_total', ['bridge'], 'Messages received from upstream and published locally'),
  // certificates
  g('edgemq_certificate_expiry_timestamp_seconds', ['owner', 'name', 'file'], 'notAfter of a certificate, as a Unix time: owner listener or bridge, its name and the file'),
  // http
  c('edgemq_http_requests_total', ['listener', 'code'], 'HTTP requests answered by the http/https listeners, by status code')
]
