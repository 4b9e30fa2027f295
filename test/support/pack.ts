import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, rm, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'

/** The repository root. */
export const root = resolve(import.meta.dirname, '..', '..')

export interface Run {
  code: number
  stdout: string
  stderr: string
}

export function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number },
): Promise<Run> {
  return new Promise((resolvePromise) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        timeout: options.timeout ?? 120_000,
        maxBuffer: 32 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolvePromise({ code, stdout, stderr })
      },
    )
  })
}

export async function ok(command: string, args: string[], options: Parameters<typeof run>[2]): Promise<Run> {
  const result = await run(command, args, options)
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`)
  }
  return result
}

export interface PackedPackage {
  readonly name: string
  readonly dir: string
  readonly tarball: string
  readonly size: number
  readonly files: readonly string[]
}

/** Workspace packages that are not private: what we publish. */
export function publishablePackages(): { name: string; dir: string }[] {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }
  return manifest.workspaces
    .map((workspace) => join(root, workspace))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
    .filter(({ manifest: pkg }) => pkg.private !== true)
    .map(({ dir, manifest: pkg }) => ({ name: pkg.name as string, dir }))
}

/**
 * Runs `fn` while holding a lock folder: test files that build into the same dist/ (the packaging and the
 * examples tests run in parallel) take turns, so none packs a dist/ that another is rewriting.
 */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = join(root, 'node_modules', '.rowfence-build-lock')
  const deadline = Date.now() + 600_000
  for (;;) {
    try {
      await mkdir(lock)
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || Date.now() > deadline) throw error
      // A lock left by a run that was killed (older than any build) is taken over.
      const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs
      if (age > 600_000) await rm(lock, { recursive: true, force: true })
      await new Promise((resolvePromise) => setTimeout(resolvePromise, 500))
    }
  }
  try {
    return await fn()
  } finally {
    await rm(lock, { recursive: true, force: true })
  }
}

/** Builds every package (`npm run build`) and packs each publishable one into `destination`. */
export function buildAndPack(destination: string): Promise<PackedPackage[]> {
  return withBuildLock(() => packAll(destination))
}

async function packAll(destination: string): Promise<PackedPackage[]> {
  await ok('npm', ['run', 'build'], { cwd: root, timeout: 300_000 })
  const packed: PackedPackage[] = []
  for (const pkg of publishablePackages()) {
    const result = await ok(
      'npm',
      ['pack', '--ignore-scripts', '--json', '--pack-destination', destination],
      {
        cwd: pkg.dir,
      },
    )
    const [info] = JSON.parse(result.stdout) as [
      { filename: string; size: number; files: { path: string }[] },
    ]
    packed.push({
      name: pkg.name,
      dir: pkg.dir,
      tarball: join(destination, info.filename),
      size: info.size,
      files: info.files.map((file) => file.path),
    })
  }
  return packed
}
