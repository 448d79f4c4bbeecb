// What every `edgemq <command>` implements. Commands get their streams
// injected so tests can run them in-process.

/** Streams and environment a command runs with. */
export interface CliIo {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  stdin: NodeJS.ReadableStream
  env: NodeJS.ProcessEnv
}

/** One `edgemq <name>` command. */
export interface CliCommand {
  name: string
  /** One line for `edgemq --help`. */
  summary: string
  /** Full text for `edgemq <name> --help`. */
  usage: string
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run: (args: string[], io: CliIo) => Promise<number>
}
