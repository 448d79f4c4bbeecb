// The parts attached to the broker core, in order: each registers its hooks,
// control commands and reload handler. One line per part. Order matters: the
// first refusal wins, so authentication and authorization run before limits,
// and the bridge takes messages only once they are allowed. Observability
// comes last: it only reads what the others registered.
import type { AttachPart } from './broker.ts'
import { securityPart } from './auth/security-part.ts'
import { attachLimits } from './limits/attach-limits.ts'
import { attachBridgesPart } from './bridge/bridge-part.ts'
import { observabilityPart } from './observability/observability-part.ts'

/** Every part, attached in this order at start. */
export const PARTS: AttachPart[] = [securityPart, attachLimits, attachBridgesPart, observabilityPart]
