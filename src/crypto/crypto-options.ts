// Option rows of one seal rule (`bridges[].seal[]`). The bridge owns
// `bridges:`; it puts SEAL_RULE_FIELDS in its field table as
// `{ key: 'seal', type: 'list', fields: SEAL_RULE_FIELDS, ... }` and calls
// parseSealRules on the raw list (the loader does not descend into nested lists).
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import type { OptionSpec } from '../config/option-spec.ts'
import { parseOption } from '../config/load-config.ts'
import { DEFAULT_MAX_ENVELOPE_BYTES, MAX_ENVELOPE_BYTES_CEILING } from './envelope-format.ts'
import type { SealRuleConfig } from './topic-sealer.ts'

const nonEmpty = (v: unknown): string | undefined => Array.isArray(v) && v.length > 0 ? undefined : 'a non-empty list'

/** Fields of one seal rule. */
export const SEAL_RULE_FIELDS: readonly OptionSpec[] = [
  { key: 'topics', type: 'string[]', reload: 'restart', check: nonEmpty, doc: 'Topic filters whose payloads the rule seals outbound and opens inbound', reason: 'required: a rule names what it covers' },
  { key: 'mode', type: 'enum', values: ['anonymous', 'box', 'secretbox'], default: 'anonymous', reload: 'restart', doc: 'Envelope mode: anonymous (sealed box to a public key), box (sender-authenticated), secretbox (shared key)', reason: 'anonymous: the gateway holds only the upstream public key, so a stolen gateway cannot read what it sent' },
  { key: 'keyFile', type: 'path', reload: 'restart', doc: 'secretbox: shared key file (edgemq keygen --type secretbox), mode 0600', reason: 'required in secretbox mode' },
  { key: 'recipientPublicKeyFile', type: 'path', reload: 'restart', doc: 'box, anonymous: box public key of the upstream consumer; needed to seal', reason: 'unset: the rule only opens' },
  { key: 'secretKeyFile', type: 'path', reload: 'restart', doc: 'box, anonymous: this gateway\'s box secret key (sender in box mode; opens inbound envelopes), mode 0600', reason: 'unset: the rule only seals (anonymous)' },
  { key: 'senderPublicKeyFiles', type: 'string[]', reload: 'restart', doc: 'box: box public keys of the peers whose inbound envelopes are accepted', reason: 'unset: box envelopes are not opened' },
  { key: 'signKeyFile', type: 'path', reload: 'restart', doc: 'Ed25519 secret key (edgemq keygen --type sign) to sign outbound envelopes, mode 0600', reason: 'unset: no signature; box mode already authenticates the sender' },
  { key: 'verifyKeyFiles', type: 'string[]', reload: 'restart', doc: 'Ed25519 public keys; when set, inbound envelopes must carry a valid signature by one of them', reason: 'unset: signatures are not required' },
  { key: 'maxBytes', type: 'size', unit: 'bytes', default: DEFAULT_MAX_ENVELOPE_BYTES, min: 53, max: MAX_ENVELOPE_BYTES_CEILING, reload: 'restart', doc: 'Largest inbound envelope opened', reason: 'bounds the work an upstream can ask of the gateway; 1 MiB is above limits.maxPacketSize' }
]

/**
 * Validates a raw `seal:` list (from the config file) into SealRuleConfig[];
 * `at(i, field)` says where an entry sits (file:line). Throws CONFIG_INVALID
 * listing every problem. Key files are not read here (loadTopicSealer does).
 */
export function parseSealRules (raw: unknown, key: string, at: (i: number, field?: string) => string): SealRuleConfig[] {
  const problems: string[] = []
  if (!Array.isArray(raw)) throw new EdgemqError(ERROR_CODES.CONFIG_INVALID, `${key} must be a list of seal rules: got ${JSON.stringify(raw)} (${at(0)})`)
  const rules = raw.map((item, i): SealRuleConfig => {
    const out: Record<string, unknown> = {}
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      problems.push(`${key}[${i}] must be a mapping of ${SEAL_RULE_FIELDS.map((f) => f.key).join(', ')}: got ${JSON.stringify(item)} (${at(i)})`)
      return out as unknown as SealRuleConfig
    }
    for (const [k, v] of Object.entries(item as Record<string, unknown>)) {
      const field = SEAL_RULE_FIELDS.find((f) => f.key === k)
      if (field === undefined) {
        problems.push(`unknown key ${key}[${i}].${k} (${at(i, k)}): use one of ${SEAL_RULE_FIELDS.map((f) => f.key).join(', ')}`)
        continue
      }
      const value = parseOption(field, v, `${key}[${i}].${k}`, at(i, k), problems)
      if (value !== undefined) out[k] = value
    }
    for (const f of SEAL_RULE_FIELDS) {
      if (out[f.key] === undefined && f.default !== undefined) out[f.key] = parseOption(f, f.default, f.key, 'default', problems)
    }
    const rule = out as unknown as SealRuleConfig
    const need = (ok: boolean, what: string): void => { if (!ok) problems.push(`${key}[${i}] (mode ${rule.mode}) ${what} (${at(i)})`) }
    if (rule.topics === undefined && !problems.some((p) => p.startsWith(`${key}[${i}].topics`))) problems.push(`${key}[${i}] needs topics: a list of topic filters such as ["sensors/#"] (${at(i)})`)
    const has = (k: keyof SealRuleConfig): boolean => rule[k] !== undefined
    if (rule.mode === 'secretbox') {
      need(has('keyFile'), 'needs keyFile: a shared key made with edgemq keygen --type secretbox --out FILE')
      for (const k of ['recipientPublicKeyFile', 'secretKeyFile', 'senderPublicKeyFiles'] as const) need(!has(k), `does not use ${k}: remove it, or set mode: box / anonymous`)
    } else if (rule.mode === 'box') {
      need(!has('keyFile'), 'does not use keyFile (that is for secretbox): remove it')
      need(has('secretKeyFile'), 'needs secretKeyFile: this gateway\'s box secret key (edgemq keygen --type box --out FILE)')
      need(has('recipientPublicKeyFile') || has('senderPublicKeyFiles'), 'needs recipientPublicKeyFile (to seal) and/or senderPublicKeyFiles (to open)')
    } else if (rule.mode === 'anonymous') {
      need(!has('keyFile'), 'does not use keyFile (that is for secretbox): remove it')
      need(!has('senderPublicKeyFiles'), 'does not use senderPublicKeyFiles (anonymous envelopes have no sender key): remove it, or set mode: box')
      need(has('recipientPublicKeyFile') || has('secretKeyFile'), 'needs recipientPublicKeyFile (to seal) and/or secretKeyFile (to open)')
    }
    return rule
  })
  if (problems.length > 0) throw new EdgemqError(ERROR_CODES.CONFIG_INVALID, `${problems.length} problem(s) in ${key}: ${problems[0]}`, { problems })
  return rules
}
