import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
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

/** Builds every package (`npm run build`) and packs each publishable one into `destination`. */
export async function buildAndPack(destination: string): Promise<PackedPackage[]> {
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
