// The three prom-client classes edgemq uses (Registry, Counter, Gauge),
// imported from their own files rather than from prom-client's index.
// Why: the index also loads the Pushgateway (node:http, node:https and with
// them node:tls), the AggregatorRegistry (node:cluster, which loads
// child_process and dgram), Summary and the default-metrics collectors at
// start, for a broker that uses none of them: ~1 MiB of idle RSS (issue 10;
// /proc/PID/status of an idle broker with and without them).
// prom-client 15.1.3 has no "exports" map, so these paths are importable;
// test/observability/prom-client-core.test.ts checks that they are the very
// classes the index exports, so an upgrade that moves them fails there.
import type * as PromClient from 'prom-client'
import RegistryClass from 'prom-client/lib/registry.js'
import CounterClass from 'prom-client/lib/counter.js'
import GaugeClass from 'prom-client/lib/gauge.js'

/** prom-client's Registry. */
export const Registry = RegistryClass as typeof PromClient.Registry
/** prom-client's Counter. */
export const Counter = CounterClass as typeof PromClient.Counter
/** prom-client's Gauge. */
export const Gauge = GaugeClass as typeof PromClient.Gauge
/** A Counter instance. */
export type Counter<T extends string> = PromClient.Counter<T>
/** A Gauge instance. */
export type Gauge<T extends string> = PromClient.Gauge<T>
