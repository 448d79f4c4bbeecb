// How bad an audit finding is, shared by the audit checks (kept apart so a
// check file and audit-config.ts do not import each other).

/** How bad a finding is; high makes `edgemq audit` exit non-zero. */
export type Severity = 'high' | 'medium' | 'low'
