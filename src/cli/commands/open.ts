// `edgemq open`: envelope on stdin -> plaintext on stdout, only if every check
// passes (docs/envelope.md "What open checks"); otherwise nothing on stdout.
import type { CliCommand } from '../cli-command.ts'
import { EdgemqError, ERROR_CODES } from '../../errors.ts'
import type { EnvelopeMode } from '../../crypto/envelope-format.ts'
import { readKeyFile } from '../../crypto/key-file.ts'
import type { Key } from '../../crypto/keys.ts'
import { EnvelopeOpenError, open } from '../../crypto/open-envelope.ts'
import { decodeInput, list, parseFlags, parseFormat, parseMaxBytes, readInput, runCommand, writeOutput } from '../../crypto/cli-support.ts'

const USAGE = `usage: edgemq open --key FILE [--from FILE] [--verify FILE] [--format raw|hex|base64] < envelope > plaintext

Opens the edgemq envelope read on stdin and writes the plaintext to stdout.
Nothing is written to stdout unless the envelope authenticates.
  --key FILE     secretbox key, or your box secret key (box and anonymous envelopes); repeatable
  --from FILE    box public key of a sender you accept (box envelopes); repeatable
  --verify FILE  Ed25519 public key of a signer you accept; repeatable. With it,
                 unsigned envelopes are refused
  --mode M       accept only this mode: secretbox, box or anonymous (repeatable; default all)
  --format F     stdin is raw bytes (default), hex or base64; one trailing newline
                 after raw bytes (mosquitto_sub adds one) is accepted
  --max-bytes N  largest envelope accepted, bytes (default 1048576)
  --info         print mode and key ids to stderr after opening
  -h, --help     this help

Exit 0 on success; 1 with "cannot open envelope (<reason>)" on stderr when it is
tampered with, truncated, sealed to another key, or not an envelope.

example:
  mosquitto_sub -t sensors/t -C 1 | edgemq open --key cloud.key
`

const MODES: readonly EnvelopeMode[] = ['secretbox', 'box', 'anonymous']

/** The open command. */
export const openCommand: CliCommand = {
  name: 'open',
  summary: 'open an envelope from stdin, plaintext on stdout',
  usage: USAGE,
  run: async (args, io) => await runCommand('open', io, async () => {
    const flags = parseFlags(args, {
      key: { type: 'string', short: 'k', multiple: true },
      from: { type: 'string', multiple: true },
      verify: { type: 'string', multiple: true },
      mode: { type: 'string', multiple: true },
      format: { type: 'string' },
      'max-bytes': { type: 'string' },
      info: { type: 'boolean' }
    })
    if (flags.help === true) { io.stdout.write(USAGE); return 0 }
    const format = parseFormat(flags.format)
    const maxBytes = parseMaxBytes(flags['max-bytes'])
    const modes = list(flags.mode)
    for (const m of modes) if (!(MODES as readonly string[]).includes(m)) throw new EdgemqError(ERROR_CODES.USAGE, `--mode must be secretbox, box or anonymous: got "${m}"`)
    if (list(flags.key).length === 0) throw new EdgemqError(ERROR_CODES.USAGE, '--key FILE is required: the shared secretbox key, or your box secret key')
    const keys: Key[] = []
    for (const p of list(flags.key)) keys.push(await readKeyFile(p, ['secretbox', 'box-secret']))
    for (const p of list(flags.from)) keys.push(await readKeyFile(p, 'box-public'))
    for (const p of list(flags.verify)) keys.push(await readKeyFile(p, 'sign-public'))
    // Base64 text is 4/3 the size of the bytes, hex twice: allow for it before decoding.
    const raw = await readInput(io.stdin, format === 'raw' ? maxBytes : maxBytes * 2 + 2, 'envelope', (m) => new EnvelopeOpenError('too-large', m))
    const options = { keys, maxBytes, modes: modes.length === 0 ? undefined : modes as EnvelopeMode[] }
    const bytes = decodeInput(raw, format)
    let result
    try {
      result = open(bytes, options)
    } catch (err) {
      // `mosquitto_sub ... | edgemq open` (docs/bridge.md step 4): mosquitto_sub
      // ends each message with a newline. One trailing newline that breaks the
      // envelope is dropped and the envelope tried again; authentication still
      // decides (an envelope whose last byte really is 0x0a opened on the first try).
      if (format !== 'raw' || bytes.length === 0 || bytes[bytes.length - 1] !== 0x0a) throw err
      try { result = open(bytes.subarray(0, bytes.length - 1), options) } catch { throw err }
    }
    await writeOutput(io.stdout, result.plaintext)
    if (flags.info === true) {
      io.stderr.write(`opened ${result.mode} envelope: key ${result.keyId}${result.senderKeyId === undefined ? '' : ` sender ${result.senderKeyId}`}${result.signerKeyId === undefined ? ' unsigned' : ` signed by ${result.signerKeyId}`}, ${result.plaintext.length} bytes\n`)
    }
    return 0
  })
}
