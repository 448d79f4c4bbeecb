// glibc raises its mmap threshold each time a large block is freed (up to
// 32 MiB), so after the first scrypt verification (8-32 MiB, freed on a
// threadpool thread) every later one is carved from a malloc arena and the
// memory stays with the process. Measured on a 1,000-client password storm
// under the rpi-zero-2w profile (issue 16): peak RSS 149 MiB, above the
// board's hard mark, and the broker refused every client afterwards; with the
// threshold fixed at glibc's default of 128 KiB: 103 MiB, and every client
// got in. glibc reads the setting only from the environment at start, so the
// re-exec and the packaged unit set it; an operator's own value wins.

/** The environment variable and its value. */
export const MALLOC_MMAP_THRESHOLD = { name: 'MALLOC_MMAP_THRESHOLD_', value: '131072' } as const

/** `env` with the fixed mmap threshold added unless it is set already. */
export function withMallocSettings (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return env[MALLOC_MMAP_THRESHOLD.name] === undefined ? { ...env, [MALLOC_MMAP_THRESHOLD.name]: MALLOC_MMAP_THRESHOLD.value } : env
}
