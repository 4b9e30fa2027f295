import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { formatContextKey, generateContextKey, parseContextKey, type ContextSigningKey } from '@rowfence/core'
import { CliError } from '@rowfence/cli'

/** Local state of a checkout: embedded PostgreSQL data and generated dev secrets. Git-ignored. */
export function rowfenceHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env['ROWFENCE_HOME'] || '.rowfence')
}

export interface LocalConfig {
  readonly version: 1
  readonly jwtSecret: string
  /** The dev signing key of the tenant context (`<id>:<hex secret>`, see docs/signed-context.md). */
  readonly contextKey: string
  readonly postgres: {
    readonly port: number
    readonly superuserPassword: string
    readonly ownerPassword: string
    readonly appPassword: string
    readonly adminPassword: string
    readonly authPassword: string
  }
}

const secret = (bytes = 32): string => randomBytes(bytes).toString('base64url')
const newContextKey = (): string => formatContextKey(generateContextKey({ prefix: 'dev-' }))
export const DEFAULT_EMBEDDED_PORT = 54329

/** Reads `<home>/config.json`, creating it (mode 0600, fresh random secrets) on first use. */
export async function loadLocalConfig(home: string): Promise<LocalConfig> {
  const file = join(home, 'config.json')
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as LocalConfig
    if (
      parsed.version !== 1 ||
      typeof parsed.jwtSecret !== 'string' ||
      typeof parsed.postgres?.port !== 'number'
    ) {
      throw new Error('unexpected shape')
    }
    if (parsed.postgres.adminPassword && parsed.postgres.authPassword && parsed.contextKey) return parsed
    // Written before the admin and login roles or the signed context existed: add what is missing.
    const upgraded: LocalConfig = {
      ...parsed,
      contextKey: parsed.contextKey || newContextKey(),
      postgres: {
        ...parsed.postgres,
        adminPassword: parsed.postgres.adminPassword || secret(),
        authPassword: parsed.postgres.authPassword || secret(),
      },
    }
    await writeFile(file, JSON.stringify(upgraded, null, 2) + '\n', { mode: 0o600 })
    return upgraded
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new CliError(
        'ROWFENCE_CONFIG_INVALID',
        `${file} is not a valid rowfence config; run \`npm run clean\``,
        {
          cause: error,
        },
      )
    }
  }
  const config: LocalConfig = {
    version: 1,
    jwtSecret: secret(48),
    contextKey: newContextKey(),
    postgres: {
      port: DEFAULT_EMBEDDED_PORT,
      superuserPassword: secret(),
      ownerPassword: secret(),
      appPassword: secret(),
      adminPassword: secret(),
      authPassword: secret(),
    },
  }
  await mkdir(home, { recursive: true, mode: 0o755 })
  await writeFile(file, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 })
  return config
}

/** The JWT secret: ROWFENCE_JWT_SECRET when set (production), else the generated dev secret. */
export async function jwtSecret(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return env['ROWFENCE_JWT_SECRET'] || (await loadLocalConfig(rowfenceHome(env))).jwtSecret
}

/**
 * The key the demo signs the tenant context with: ROWFENCE_CONTEXT_KEY (`<id>:<secret>`, as `rowfence
 * keys --rotate` prints it) when set (production), else the generated dev key.
 */
export async function contextKey(env: NodeJS.ProcessEnv = process.env): Promise<ContextSigningKey> {
  const fromEnv = env['ROWFENCE_CONTEXT_KEY']
  try {
    return parseContextKey(fromEnv || (await loadLocalConfig(rowfenceHome(env))).contextKey)
  } catch (error) {
    if (error instanceof CliError) throw error
    throw new CliError(
      'ROWFENCE_CONFIG_INVALID',
      fromEnv
        ? `ROWFENCE_CONTEXT_KEY is not a valid context key (<id>:<secret, at least 32 bytes in hex or base64>)`
        : 'The dev context key in .rowfence/config.json is invalid; run `npm run clean`',
      { exitCode: 2 },
    )
  }
}
