import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os'

export interface MachineInfo {
  readonly cpu: string
  readonly cores: number
  readonly memoryGiB: number
  readonly os: string
  readonly kernel: string
  readonly node: string
  readonly packages: Readonly<Record<string, string>>
  readonly gitCommit: string | undefined
  /** 1-minute load average when the run started: how busy the machine already was. */
  readonly loadAverageAtStart: number
}

function osName(): string {
  try {
    const release = readFileSync('/etc/os-release', 'utf8')
    return /^PRETTY_NAME="?([^"\n]+)"?/m.exec(release)?.[1] ?? process.platform
  } catch {
    return process.platform
  }
}

function packageVersion(name: string): string {
  try {
    const require = createRequire(import.meta.url)
    return (require(`${name}/package.json`) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

export function describeMachine(): MachineInfo {
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' })
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: totalmem() / 1024 ** 3,
    os: osName(),
    kernel: release(),
    node: process.version,
    packages: {
      ...Object.fromEntries(['pg', 'fastify', 'jose'].map((name) => [name, packageVersion(name)])),
      '@rowfence/core': (
        JSON.parse(readFileSync(new URL('../../packages/core/package.json', import.meta.url), 'utf8')) as {
          version: string
        }
      ).version,
    },
    gitCommit: git.status === 0 ? git.stdout.trim() : undefined,
    loadAverageAtStart: loadavg()[0] ?? 0,
  }
}
