// `edgemq seal`: plaintext on stdin -> envelope on stdout (docs/envelope.md).
import type { CliCommand } from '../cli-command.ts'
import { EdgemqError, ERROR_CODES } from '../../errors.ts'
import { envelopeLength } from '../../crypto/envelope-format.ts'
import { readKeyFile } from '../../crypto/key-file.ts'
import { seal, sealMode, type SealOptions } from '../../crypto/seal-envelope.ts'
import { encodeOutput, parseFlags, parseFormat, parseMaxBytes, readInput, runCommand, writeOutput } from '../../crypto/cli-support.ts'

const USAGE = `usage: edgemq seal (--key FILE | --to FILE [--from FILE]) [--sign FILE] [--format raw|hex|base64] < plaintext > envelope

Seals the payload read on stdin into an edgemq envelope on stdout. The mode
follows from the keys:
  --key FILE     secretbox: a shared key (edgemq keygen --type secretbox)
  --to FILE      anonymous: the recipient's box public key (FILE.pub of keygen --type box)
  --to FILE --from FILE
                 box: recipient's public key and your box secret key (sender authenticated)
  --sign FILE    also sign the envelope with an Ed25519 secret key (keygen --type sign)
  --format F     write raw bytes (default), hex or base64 (one line)
  --max-bytes N  largest envelope to produce, bytes (default 1048576, what edgemq open accepts)
  -h, --help     this help

Exit 0 on success; 1 with a message on stderr when a key is missing, wrong or insecure.

example:
  echo '{"t":21.5}' | edgemq seal --to cloud.key.pub | mosquitto_pub -t sensors/t -s
`

/** The seal command. */
export const sealCommand: CliCommand = {
  name: 'seal',
  summary: 'seal a payload from stdin into an envelope on stdout',
  usage: USAGE,
  run: async (args, io) => await runCommand('seal', io, async () => {
    const flags = parseFlags(args, {
      key: { type: 'string', short: 'k' },
      to: { type: 'string' },
      from: { type: 'string' },
      sign: { type: 'string' },
      format: { type: 'string' },
      'max-bytes': { type: 'string' }
    })
    if (flags.help === true) { io.stdout.write(USAGE); return 0 }
    const format = parseFormat(flags.format)
    const maxBytes = parseMaxBytes(flags['max-bytes'])
    const path = (name: string): string | undefined => flags[name] as string | undefined
    if (path('key') === undefined && path('to') === undefined) {
      throw new EdgemqError(ERROR_CODES.USAGE, 'nothing to seal with: give --key FILE (shared key), or --to FILE (recipient public key), optionally with --from FILE (your box secret key)')
    }
    if (path('key') !== undefined && (path('to') !== undefined || path('from') !== undefined)) {
      throw new EdgemqError(ERROR_CODES.USAGE, 'give either --key (shared-key mode) or --to/--from (box modes), not both')
    }
    if (path('from') !== undefined && path('to') === undefined) throw new EdgemqError(ERROR_CODES.USAGE, '--from needs --to (the recipient\'s box public key)')
    const options: SealOptions = {
      key: path('key') === undefined ? undefined : await readKeyFile(path('key') as string, 'secretbox'),
      to: path('to') === undefined ? undefined : await readKeyFile(path('to') as string, 'box-public'),
      from: path('from') === undefined ? undefined : await readKeyFile(path('from') as string, 'box-secret'),
      sign: path('sign') === undefined ? undefined : await readKeyFile(path('sign') as string, 'sign-secret')
    }
    const mode = sealMode(options)
    const plaintext = await readInput(io.stdin, maxBytes, 'plaintext')
    const size = envelopeLength(mode, options.sign !== undefined, plaintext.length)
    if (size > maxBytes) {
      throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `the envelope would be ${size} bytes, over --max-bytes ${maxBytes} (the default limit of edgemq open): send a smaller payload or raise --max-bytes on both sides`)
    }
    await writeOutput(io.stdout, encodeOutput(seal(plaintext, options), format))
    return 0
  })
}
