// Option tables of the parts beyond the core. Each part owns its own table in
// its own folder; this list is the only place that names them all.
import type { OptionSpec } from './option-spec.ts'
import { AUTH_OPTIONS } from '../auth/auth-options.ts'
import { LIMITS_OPTIONS } from '../limits/limits-options.ts'
import { TENANT_QUOTA_OPTIONS } from '../limits/tenant-quotas.ts'
import { THROTTLE_OPTIONS } from '../throttle/throttle-options.ts'
import { BRIDGE_OPTIONS } from '../bridge/bridge-options.ts'

/** Option tables contributed by auth, acl, throttle, bridge, control, crypto. */
export const EXTRA_OPTION_TABLES: ReadonlyArray<readonly OptionSpec[]> = [BRIDGE_OPTIONS, AUTH_OPTIONS, LIMITS_OPTIONS, TENANT_QUOTA_OPTIONS, THROTTLE_OPTIONS]
