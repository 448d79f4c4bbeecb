// Renders the option table as markdown: the config reference in README and
// docs, and `edgemq config --explain`. Generated, so it cannot drift.
import type { OptionSpec } from './option-spec.ts'
import { BOARDS } from './boards.ts'

/** Markdown table of every option (and list fields). */
export function renderOptionTable (options: readonly OptionSpec[]): string {
  const rows: string[] = ['| key | type | default | unit | reload | what | why |', '|---|---|---|---|---|---|---|']
  const add = (o: OptionSpec, prefix: string): void => {
    const def = o.default === undefined ? '' : o.type === 'list' ? '(see below)' : `\`${JSON.stringify(o.default)}\``
    const type = o.type === 'enum' ? (o.values ?? []).join(' \\| ') : o.type
    rows.push(`| \`${prefix}${o.key}\` | ${type} | ${def} | ${o.unit ?? ''} | ${o.reload} | ${escape(o.doc)} | ${escape(o.reason)} |`)
    for (const f of o.fields ?? []) add(f, `${prefix}${o.key}[].`)
  }
  for (const o of options) add(o, '')
  return rows.join('\n') + '\n'
}

/** Markdown table of the board-settable options and each board's value. */
export function renderBoardTable (options: readonly OptionSpec[]): string {
  const keys = options.filter((o) => o.board === true).map((o) => o.key)
  const header = `| key | default | ${BOARDS.map((b) => b.name).join(' | ')} |`
  const sep = `|---|---|${BOARDS.map(() => '---').join('|')}|`
  const rows = keys.map((key) => {
    const o = options.find((x) => x.key === key)
    const cells = BOARDS.map((b) => {
      const v = key.split('.').reduce<unknown>((acc, k) => (acc as Record<string, unknown> | undefined)?.[k], b.settings)
      return v === undefined ? '' : String(v)
    })
    return `| \`${key}\` | ${o?.default === undefined ? '' : String(o.default)} | ${cells.join(' | ')} |`
  })
  const extra = [`| arch | | ${BOARDS.map((b) => b.arch).join(' | ')} |`, `| memory cap (MiB) | | ${BOARDS.map((b) => b.memoryCapMiB).join(' | ')} |`]
  return [header, sep, ...extra, ...rows].join('\n') + '\n'
}

function escape (text: string): string {
  return text.replace(/\|/g, '\\|')
}
