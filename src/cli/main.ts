// The `edgemq` entry point (the bundle's main).
import type { CliIo } from './cli-command.ts'
import { main } from './run-cli.ts'

// `edgemq config | head`: the reader closed the pipe; that is not an error (issue 15).
process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(0); throw err })

const io: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env }
const code = await main(process.argv.slice(2), io)
process.exitCode = code
// `start` resolves only once the broker has stopped: exit now rather than wait
// for stray handles (a client socket mid-close) to drain.
if (process.argv[2] === 'start') process.exit(code)
