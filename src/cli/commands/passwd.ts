// `edgemq passwd FILE USER`: add or change a user's password (scrypt), `-D`
// deletes a user, `-U` hashes a plain-text file in place (Mosquitto's -U).
// The file is rewritten atomically with mode 0600; other lines keep their
// bytes, so Mosquitto $7$ lines stay usable by Mosquitto too.
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import type { CliCommand, CliIo } from '../cli-command.ts'
import { EdgemqError, ERROR_CODES } from '../../errors.ts'
import { checkUsername, parsePasswordFile, writeFileAtomic } from '../../auth/password-file.ts'
import { hashPassword } from '../../auth/password-hash.ts'
import { describeScrypt } from '../../auth/scrypt-cost.ts'
import { loadEffectiveConfig } from '../load-effective-config.ts'

/** Reads one line from a stream (no echo when it is a TTY). */
async function readSecret (io: CliIo, prompt: string): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream
  const tty = stdin.isTTY === true && typeof stdin.setRawMode === 'function'
  if (tty) io.stderr.write(prompt)
  return await new Promise((resolve, reject) => {
    let text = ''
    if (tty) stdin.setRawMode(true)
    const done = (err?: Error): void => {
      stdin.off('data', onData); stdin.off('end', onEnd)
      if (tty) { stdin.setRawMode(false); io.stderr.write('\n') }
      stdin.pause()
      if (err !== undefined) reject(err); else resolve(text)
    }
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString()) {
        if (ch === '\n' || ch === '\r') { done(); return }
        if (ch === '\u0003') { done(new EdgemqError(ERROR_CODES.USAGE, 'cancelled')); return }
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1)
        else text += ch
      }
    }
    const onEnd = (): void => { done() }
    stdin.on('data', onData)
    stdin.once('end', onEnd)
    stdin.resume()
  })
}

/** All of a piped standard input as text. */
async function readAll (stream: NodeJS.ReadableStream): Promise<string> {
  let text = ''
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8')
  return text
}

/** The passwd command. */
export const passwdCommand: CliCommand = {
  name: 'passwd',
  summary: 'add, change or delete a user in a password file (scrypt, mode 0600)',
  usage: `usage: edgemq passwd [--stdin] FILE USER     add or change USER (asks for the password)
       edgemq passwd -D FILE USER             delete USER
       edgemq passwd -U FILE                  hash every plain-text password in FILE

      --stdin        read the password from standard input (also the default when it is
                     not a terminal): one line, or two equal lines (the second confirms)
  -c, --config FILE  take the scrypt cost (auth.scryptN) from this config
      --board NAME   take it from this board profile; default: detected
      --cost N       scrypt N for new hashes (a power of two), whatever the board
  -h, --help         this help

New hashes use the board's auth.scryptN (a Pi Zero 2 W gets a cheaper scrypt
than a Pi 5; docs/security.md says what that means for a stolen file).

The file is written atomically with mode 0600. Mosquitto's $7$ and $6$ lines
are kept as they are and keep working.
`,
  run: async (args, io) => {
    let parsed
    try {
      parsed = parseArgs({ args, allowPositionals: true, strict: true, options: { stdin: { type: 'boolean' }, delete: { type: 'boolean', short: 'D' }, upgrade: { type: 'boolean', short: 'U' }, help: { type: 'boolean', short: 'h' }, config: { type: 'string', short: 'c' }, board: { type: 'string' }, cost: { type: 'string' } } })
    } catch (err) {
      io.stderr.write(`edgemq passwd: ${(err as Error).message}\n${passwdCommand.usage}`)
      return 2
    }
    const v = parsed.values
    const [file, user] = parsed.positionals
    if (v.help === true) { io.stdout.write(passwdCommand.usage); return 0 }
    if (file === undefined || (v.upgrade !== true && user === undefined)) { io.stderr.write(passwdCommand.usage); return 2 }
    let N: number | undefined
    if (v.cost !== undefined) {
      N = /^\d{1,7}$/.test(v.cost) ? Number(v.cost) : NaN
      if (!(N >= 1024 && N <= 1_048_576 && (N & (N - 1)) === 0)) { io.stderr.write(`edgemq passwd: --cost must be a power of two from 1024 to 1048576: got ${JSON.stringify(v.cost)}\n`); return 2 }
    } else if (v.delete !== true) {
      const { config } = await loadEffectiveConfig(v.config, { board: v.board })
      N = (config.auth as { scryptN?: number } | undefined)?.scryptN
    }
    const hash = async (pw: string): Promise<string> => await hashPassword(Buffer.from(pw, 'utf8'), { N })
    let text = ''
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || v.delete === true || v.upgrade === true) {
        io.stderr.write(`edgemq passwd: cannot read ${file}: ${(err as Error).message}\n`)
        return 1
      }
    }
    // Validates every existing line first: never rewrite a file we do not understand.
    const { plain } = parsePasswordFile(text, file, { allowPlain: true })
    const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n')
    const lineOf = (u: string): number => lines.findIndex((l) => l.startsWith(u + ':'))

    if (v.upgrade === true) {
      for (const p of plain) lines[p.line - 1] = `${p.user}:${await hash(p.password)}`
      await writeFileAtomic(file, lines.join('\n') + '\n')
      io.stdout.write(`hashed ${plain.length} plain-text password(s) in ${file}\n`)
      return 0
    }
    const name = user as string
    const bad = checkUsername(name)
    if (bad !== undefined || name.includes(':')) { io.stderr.write(`edgemq passwd: user name ${JSON.stringify(name)} ${bad ?? 'contains ":"'}\n`); return 2 }
    const at = lineOf(name)
    if (v.delete === true) {
      if (at < 0) { io.stderr.write(`edgemq passwd: no user ${name} in ${file}\n`); return 1 }
      lines.splice(at, 1)
      await writeFileAtomic(file, lines.length === 0 ? '' : lines.join('\n') + '\n')
      io.stdout.write(`deleted ${name} from ${file}\n`)
      return 0
    }
    let password: string
    if ((io.stdin as NodeJS.ReadStream).isTTY === true) {
      password = await readSecret(io, 'Password: ')
      const again = await readSecret(io, 'Reenter password: ')
      if (again !== password) { io.stderr.write('edgemq passwd: passwords do not match: try again\n'); return 1 }
    } else {
      // Piped (--stdin): the password on the first line; a second line, as
      // `printf 'pw\npw\n'` or an interactive script gives, must repeat it
      // (issue 15: it was ignored, so a typo became the password); more lines are refused.
      const input = await readAll(io.stdin)
      const given = input.split(/\r?\n/)
      if (given.at(-1) === '') given.pop()
      if (given.length > 2) { io.stderr.write(`edgemq passwd: standard input has ${given.length} lines: give the password on one line, or twice on two lines to confirm it\n`); return 1 }
      if (given.length === 2 && given[0] !== given[1]) { io.stderr.write('edgemq passwd: the two lines of standard input differ: the second line confirms the first; give the same password twice, or only once\n'); return 1 }
      password = given[0] ?? ''
    }
    if (password === '') { io.stderr.write('edgemq passwd: empty password refused\n'); return 1 }
    const line = `${name}:${await hash(password)}`
    if (at >= 0) lines[at] = line
    else lines.push(line)
    await writeFileAtomic(file, lines.join('\n') + '\n')
    io.stdout.write(`${at >= 0 ? 'changed' : 'added'} ${name} in ${file} (scrypt ${describeScrypt(N ?? 16_384)})\n`)
    return 0
  }
}
