import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

const entry = resolve(import.meta.dirname, 'cli-entry.ts')
/** tsx's loader by absolute URL: the child may run in a folder outside the workspace. */
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

/**
 * Runs the `rowfence` command from its sources in a child process (cwd and environment of the caller's
 * choosing). The installed, built command is exercised by the packaging test.
 */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@rowfence/source', '--import', tsxLoader, entry, ...args],
      { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: 'pipe' },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }))
  })
}
