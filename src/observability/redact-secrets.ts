// Secrets stay secret (issue 15: a refused bridge config logged
// `got {"username":...,"password":...}` and `check` echoed credentials in
// URLs). The one function every log line, error and CLI output goes through:
// it hides the value of any key named like a secret and the userinfo of any
// URL, in JSON, YAML and key=value forms alike.

/** What a hidden value is replaced with. */
export const REDACTED = '[redacted]'

// Key names whose values are secret. Exact words (so `passwordFile: /etc/x`,
// a path, stays readable), in any case, quoted or not, also with a prefix
// (`remote_password`, `auth.password`). Not `passwd`: it is the command and
// the file (`edgemq passwd: ...`, `/etc/edgemq/passwd: ...`).
const SECRET_KEY = String.raw`(?:password|passphrase|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|authorization|credentials?|psk|sharedKey)`
// a key at the start of a word (not `/etc/passwd:1`), quoted or not (also
// with escaped quotes, as inside a JSON string in a log field), then : or =, then a
// quoted value or a bare one up to a separator
const BY_KEY = new RegExp(String.raw`(^|[\s{,;(\[])((?:\\)?["']?)((?:[\w-]*[_.])?${SECRET_KEY})\2(\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;}\])&]+)`, 'gi')
// scheme://user:password@host or scheme://token@host
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@'"<>]+@/gi

/** `text` with secret values and URL userinfo replaced by [redacted]. */
export function redactSecrets (text: string): string {
  if (text.length === 0) return text
  return text
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(BY_KEY, (_m, before: string, quote: string, key: string, sep: string, value: string) => {
      const q = value.startsWith('"') ? '"' : value.startsWith("'") ? "'" : ''
      return `${before}${quote}${key}${quote}${sep}${q}${REDACTED}${q}`
    })
}

/** A copy of a plain value with secret-named keys (at any depth) and URL userinfo in strings redacted. */
export function redactValue<T> (value: T): T {
  if (typeof value === 'string') return redactSecrets(value) as T
  if (Array.isArray(value)) return value.map((v) => redactValue(v)) as T
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {}
    const named = new RegExp(`^${SECRET_KEY}$`, 'i')
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = named.test(k) && v !== undefined ? REDACTED : redactValue(v)
    return out as T
  }
  return value
}
