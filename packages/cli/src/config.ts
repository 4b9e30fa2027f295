import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, extname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { CliError } from './cli-error.ts'

/** `rowfence.config.{ts,mts,js,mjs,json}` or a `rowfence` key in package.json. Paths are relative to it. */
export interface RowfenceConfig {
  /** Module exporting `schema` (or a default export) made with `rowfenceSchema()`: `rowfence generate`. */
  readonly schema?: string
  /** Folder of `NNNN_name.sql` migrations (and the generator's snapshot). */
  readonly migrations?: string
  /** The role the app connects as: what `rowfence check` analyses. */
  readonly appRole?: string
  /**
   * The column that makes a table a tenant table: one name for every table, or per table
   * (`{ '*': 'tenant_id', orders: 'org_id' }`, `'*'` being the default for the others).
   */
  readonly tenantColumn?: string | Readonly<Record<string, string>>
  /** Schemas `rowfence check` inspects (default: `['public']`). */
  readonly schemas?: readonly string[]
  /** Names of the environment variables that hold the connection strings. */
  readonly env?: {
    /** Owner / migration role (default: DATABASE_URL). */
    readonly databaseUrl?: string
    /** App role (default: APP_DATABASE_URL). */
    readonly appDatabaseUrl?: string
  }
}

/** Typed identity helper for `rowfence.config.ts`: `export default defineConfig({ ... })`. */
export function defineConfig(config: RowfenceConfig): RowfenceConfig {
  return config
}

export interface LoadedConfig {
  /** The file the config came from; undefined when none was found. */
  readonly file: string | undefined
  /** Folder that the config's relative paths are resolved against. */
  readonly dir: string
  readonly config: RowfenceConfig
}

export const CONFIG_FILES = [
  'rowfence.config.ts',
  'rowfence.config.mts',
  'rowfence.config.js',
  'rowfence.config.mjs',
  'rowfence.config.json',
] as const

const configError = (message: string, cause?: unknown): CliError =>
  new CliError('ROWFENCE_CONFIG_INVALID', message, { exitCode: 2, cause })

/** Imports an ES module; TypeScript through Node's type stripping, else tsx when the project has it. */
export async function importModule(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href
  try {
    return (await import(url)) as Record<string, unknown>
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !/\.[mc]?ts$/.test(file)) throw error
    let tsImport: (specifier: string, parent: string) => Promise<unknown>
    try {
      ;({ tsImport } = (await import('tsx/esm/api')) as {
        tsImport: (specifier: string, parent: string) => Promise<unknown>
      })
    } catch {
      throw configError(
        `${file} is TypeScript: this Node.js cannot load it without a loader. Install tsx in your project ` +
          `(npm i -D tsx), use Node.js >= 22.18, or write it as .js`,
        error,
      )
    }
    return (await tsImport(url, import.meta.url)) as Record<string, unknown>
  }
}

function validate(value: unknown, file: string): RowfenceConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw configError(`${file} must export an object`)
  }
  const known = new Set(['schema', 'migrations', 'appRole', 'tenantColumn', 'schemas', 'env'])
  const config = value as Record<string, unknown>
  for (const key of Object.keys(config)) {
    if (!known.has(key))
      throw configError(`${file}: unknown option "${key}" (known: ${[...known].join(', ')})`)
  }
  const string = (key: string): void => {
    if (config[key] !== undefined && (typeof config[key] !== 'string' || config[key] === '')) {
      throw configError(`${file}: "${key}" must be a non-empty string`)
    }
  }
  for (const key of ['schema', 'migrations', 'appRole']) string(key)
  const tenantColumn = config['tenantColumn']
  if (tenantColumn !== undefined && typeof tenantColumn !== 'string') {
    if (
      typeof tenantColumn !== 'object' ||
      tenantColumn === null ||
      Object.values(tenantColumn).some((column) => typeof column !== 'string' || column === '')
    ) {
      throw configError(`${file}: "tenantColumn" must be a column name or an object { table: column }`)
    }
  }
  const schemas = config['schemas']
  if (
    schemas !== undefined &&
    (!Array.isArray(schemas) ||
      schemas.length === 0 ||
      schemas.some((schema) => typeof schema !== 'string' || schema === ''))
  ) {
    throw configError(`${file}: "schemas" must be a non-empty list of schema names`)
  }
  const env = config['env']
  if (env !== undefined) {
    if (typeof env !== 'object' || env === null) throw configError(`${file}: "env" must be an object`)
    for (const [key, name] of Object.entries(env)) {
      if (!['databaseUrl', 'appDatabaseUrl'].includes(key)) {
        throw configError(`${file}: unknown option "env.${key}" (known: databaseUrl, appDatabaseUrl)`)
      }
      if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw configError(`${file}: "env.${key}" must name an environment variable`)
      }
    }
  }
  return config as RowfenceConfig
}

async function readConfigFile(file: string): Promise<RowfenceConfig> {
  if (extname(file) === '.json') {
    let parsed: unknown
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'))
    } catch (cause) {
      throw configError(`${file} is not valid JSON: ${(cause as Error).message}`, cause)
    }
    return validate(parsed, file)
  }
  let module: Record<string, unknown>
  try {
    module = await importModule(file)
  } catch (cause) {
    if (cause instanceof CliError) throw cause
    throw configError(`cannot load ${file}: ${(cause as Error).message}`, cause)
  }
  return validate(module['default'] ?? module['config'], file)
}

/**
 * Finds the config from `cwd` upward: the first folder with a `rowfence.config.*` file or a package.json
 * with a `rowfence` key wins. `explicit` (the `--config` flag) skips the search.
 */
export async function loadConfig(cwd: string = process.cwd(), explicit?: string): Promise<LoadedConfig> {
  if (explicit !== undefined) {
    const file = resolve(cwd, explicit)
    if (!existsSync(file)) throw configError(`config file ${file} does not exist`)
    if (file.endsWith('package.json')) {
      const fromPackage = await fromPackageJson(file)
      if (!fromPackage) throw configError(`${file} has no "rowfence" key`)
      return fromPackage
    }
    return { file, dir: dirname(file), config: await readConfigFile(file) }
  }
  for (let dir = resolve(cwd); ;) {
    for (const name of CONFIG_FILES) {
      const file = join(dir, name)
      if (existsSync(file)) return { file, dir, config: await readConfigFile(file) }
    }
    const fromPackage = await fromPackageJson(join(dir, 'package.json'))
    if (fromPackage) return fromPackage
    const parent = dirname(dir)
    if (parent === dir) return { file: undefined, dir: resolve(cwd), config: {} }
    dir = parent
  }
}

async function fromPackageJson(file: string): Promise<LoadedConfig | undefined> {
  if (!existsSync(file)) return undefined
  let manifest: Record<string, unknown>
  try {
    manifest = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>
  } catch {
    return undefined // not ours to judge: only a "rowfence" key makes it a config
  }
  if (manifest['rowfence'] === undefined) return undefined
  return { file, dir: dirname(file), config: validate(manifest['rowfence'], `${file} ("rowfence" key)`) }
}

/** The owner/migration connection string, from the env var the config names (default DATABASE_URL). */
export function databaseUrl(loaded: LoadedConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[loaded.config.env?.databaseUrl ?? 'DATABASE_URL'] || undefined
}

export function appDatabaseUrl(
  loaded: LoadedConfig,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return env[loaded.config.env?.appDatabaseUrl ?? 'APP_DATABASE_URL'] || undefined
}

/** A config path made absolute against the config's folder. */
export function configPath(loaded: LoadedConfig, path: string | undefined): string | undefined {
  return path === undefined ? undefined : resolve(loaded.dir, path)
}
