/**
 * A baseline is a file of accepted findings. Each entry is keyed by the finding's fingerprint (rule id +
 * table + object), so rewording a message or re-creating a table under the same name keeps it matched.
 * The file is sorted and has no timestamps: re-writing an unchanged baseline gives the same bytes.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { RowfenceError } from '../../errors.ts'
import type { Finding } from '../types.ts'

export interface BaselineEntry {
  readonly fingerprint: string
  readonly ruleId: string
  readonly table: string | null
  readonly object: string | null
  /** For the reader of the file; not used for matching. */
  readonly message: string
}

export interface Baseline {
  readonly version: 1
  readonly findings: readonly BaselineEntry[]
}

export function createBaseline(findings: readonly Finding[]): Baseline {
  const entries = new Map<string, BaselineEntry>()
  for (const finding of findings) {
    entries.set(finding.fingerprint, {
      fingerprint: finding.fingerprint,
      ruleId: finding.ruleId,
      table: finding.table,
      object: finding.object,
      message: finding.message,
    })
  }
  const key = (entry: BaselineEntry): string =>
    `${entry.ruleId}\u0000${entry.table ?? ''}\u0000${entry.object ?? ''}`
  return {
    version: 1,
    findings: [...entries.values()].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)),
  }
}

export function serializeBaseline(baseline: Baseline): string {
  return JSON.stringify(baseline, null, 2) + '\n'
}

export async function writeBaseline(file: string, findings: readonly Finding[]): Promise<Baseline> {
  const baseline = createBaseline(findings)
  await writeFile(file, serializeBaseline(baseline))
  return baseline
}

function invalid(file: string, reason: string, cause?: unknown): RowfenceError {
  return new RowfenceError('ROWFENCE_BASELINE_INVALID', {
    message: `Baseline ${file} is not valid: ${reason}`,
    details: { file },
    cause,
  })
}

export async function readBaseline(file: string): Promise<Baseline> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw invalid(
      file,
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'unreadable',
      error,
    )
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw invalid(file, 'not JSON', error)
  }
  const candidate = parsed as Partial<Baseline> | null
  if (candidate === null || typeof candidate !== 'object' || candidate.version !== 1) {
    throw invalid(file, 'expected {"version": 1, "findings": [...]}')
  }
  if (!Array.isArray(candidate.findings)) throw invalid(file, '"findings" must be an array')
  for (const entry of candidate.findings as unknown[]) {
    if (
      entry === null ||
      typeof entry !== 'object' ||
      typeof (entry as { fingerprint?: unknown }).fingerprint !== 'string'
    ) {
      throw invalid(file, 'every finding needs a "fingerprint" string')
    }
  }
  return candidate as Baseline
}

/** Splits findings into those the baseline accepts and the rest. */
export function applyBaseline(
  findings: readonly Finding[],
  baseline: Baseline | undefined,
): { findings: Finding[]; baselined: Finding[] } {
  if (!baseline) return { findings: [...findings], baselined: [] }
  const accepted = new Set(baseline.findings.map((entry) => entry.fingerprint))
  return {
    findings: findings.filter((finding) => !accepted.has(finding.fingerprint)),
    baselined: findings.filter((finding) => accepted.has(finding.fingerprint)),
  }
}
