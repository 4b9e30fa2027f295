import { RowfenceError } from '../errors.ts'
import { CONTEXT_SETTING, keyBytes, signContextCached, type ContextSigning } from './signed-context.ts'
import { isUuid, TENANT_SETTING, USER_SETTING } from './tenant-context.ts'

/** How tenant and user ids look: PostgreSQL `uuid` (the default), `text` (e.g. Clerk `org_...`) or `bigint`. */
export type TenantIdType = 'uuid' | 'text' | 'bigint'

/** A claim value as the policies read it through `current_setting()`: always sent as text. */
export type ClaimValue = string | number | bigint | boolean

/**
 * The shape of the tenant context: id types, the setting names the policies read, and extra claims
 * (role, plan, ...) set transaction-locally in the same statement as the tenant. Names and values are
 * bind parameters of that statement, never SQL text.
 */
export interface TenantContextConfig {
  readonly tenantIdType?: TenantIdType | undefined
  readonly userIdType?: TenantIdType | undefined
  readonly tenantSetting?: string | undefined
  readonly userSetting?: string | undefined
  /** Claim name -> setting name, e.g. `{ role: 'app.role' }`; a claim missing from a context is set to ''. */
  readonly claims?: Readonly<Record<string, string>> | undefined
  /**
   * The signed context (docs/signed-context.md): instead of the plain settings, one value carrying
   * tenant, user and claims with an HMAC, which the database verifies with a key the app role cannot
   * read. The app signs with `signing.key`; the schema must be generated with `signed: true`.
   */
  readonly signing?: ContextSigning | undefined
  /** For the schema generator: verify a signed context (implied by `signing`). */
  readonly signed?: boolean | undefined
  /** The setting that carries the signed value (default `rowfence.context`). */
  readonly contextSetting?: string | undefined
}

/** A context validated against its config, ready to send: setting names and values in order. */
export interface NormalizedContext {
  readonly tenantId: string
  readonly userId: string
  /** Set only when the config is not the default: [setting, value] pairs, tenant first. */
  readonly settings?: readonly (readonly [string, string])[] | undefined
  /** Who the context is (tenant, user, claims), when `settings` holds a value that changes per call (signed). */
  readonly identity?: string | undefined
}

const settingPattern = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/
const bigintPattern = /^-?(0|[1-9][0-9]{0,18})$/
const int8Min = -(2n ** 63n)
const int8Max = 2n ** 63n - 1n
const textMaxLength = 256

function invalidConfig(message: string): RowfenceError {
  return new RowfenceError('ROWFENCE_CONFIG_INVALID', { message })
}

function checkSetting(name: unknown, what: string): string {
  if (typeof name !== 'string' || !settingPattern.test(name) || name.length > 63) {
    throw invalidConfig(`${what} must be a custom setting name such as "app.tenant_id"`)
  }
  return name
}

/** Validates a config once; throws ROWFENCE_CONFIG_INVALID. */
export function defineContextConfig(config: TenantContextConfig = {}): TenantContextConfig {
  for (const [key, type] of [
    ['tenantIdType', config.tenantIdType],
    ['userIdType', config.userIdType],
  ] as const) {
    if (type !== undefined && type !== 'uuid' && type !== 'text' && type !== 'bigint') {
      throw invalidConfig(`${key} must be "uuid", "text" or "bigint"`)
    }
  }
  if (config.signing !== undefined) {
    keyBytes(config.signing?.key)
    if (config.signed === false) throw invalidConfig('signing is set but signed is false')
    const sendPlain: unknown = config.signing.sendPlain
    if (sendPlain !== undefined && typeof sendPlain !== 'boolean') {
      throw invalidConfig('signing.sendPlain must be true or false')
    }
  }
  const names = new Set<string>()
  for (const [setting, what] of [
    ...(config.signing || config.signed
      ? ([[config.contextSetting ?? CONTEXT_SETTING, 'contextSetting']] as const)
      : []),
    [config.tenantSetting ?? TENANT_SETTING, 'tenantSetting'],
    [config.userSetting ?? USER_SETTING, 'userSetting'],
    ...Object.entries(config.claims ?? {}).map(([claim, setting]) => [setting, `claims.${claim}`]),
  ] as const) {
    checkSetting(setting, what)
    if (names.has(setting)) throw invalidConfig(`The setting ${setting} is used twice`)
    names.add(setting)
  }
  return Object.freeze({ ...config, claims: config.claims && Object.freeze({ ...config.claims }) })
}

/** Context configs bound to pools (bindContextConfig): the default of every unit of work on that pool. */
const boundConfigs = new WeakMap<object, TenantContextConfig>()

/**
 * Binds a context config to a pool, once, where the pool is created: every unit of work on it that
 * does not pass a `contextConfig` of its own uses this one (withTenant, queryAsTenant,
 * createTenantDatabase, TenantPool, request transactions, the ORM adapters and the middleware). The
 * way to turn on the signed context everywhere with one line, so no call site can forget it (a call
 * that did would fail closed: a signed schema ignores the plain settings). Binding again replaces it.
 * Throws ROWFENCE_CONFIG_INVALID for an invalid config.
 */
export function bindContextConfig(pool: object, config: TenantContextConfig): void {
  if (typeof pool !== 'object' || pool === null) throw invalidConfig('bindContextConfig needs a pg Pool')
  boundConfigs.set(pool, defineContextConfig(config))
}

/** The config a unit of work on `pool` uses: its own when given, else the one bound to the pool. */
export function contextConfigFor(
  pool: object,
  own: TenantContextConfig | undefined,
): TenantContextConfig | undefined {
  return own ?? boundConfigs.get(pool)
}

function isDefault(config: TenantContextConfig | undefined): boolean {
  return (
    config === undefined ||
    ((config.tenantIdType ?? 'uuid') === 'uuid' &&
      (config.userIdType ?? 'uuid') === 'uuid' &&
      (config.tenantSetting ?? TENANT_SETTING) === TENANT_SETTING &&
      (config.userSetting ?? USER_SETTING) === USER_SETTING &&
      Object.keys(config.claims ?? {}).length === 0 &&
      config.signing === undefined)
  )
}

/** The canonical text of an id of the given type, or undefined when it is not one. */
export function normalizeId(value: unknown, type: TenantIdType): string | undefined {
  if (type === 'uuid') return isUuid(value) ? value.toLowerCase() : undefined
  if (type === 'bigint') {
    const text =
      typeof value === 'bigint' ? value.toString() : typeof value === 'number' ? String(value) : value
    if (typeof text !== 'string' || !bigintPattern.test(text)) return undefined
    if (typeof value === 'number' && !Number.isSafeInteger(value)) return undefined
    const parsed = BigInt(text)
    return parsed < int8Min || parsed > int8Max ? undefined : parsed.toString()
  }
  // text: non-empty, bounded, printable (no control characters, which also rules out NUL)
  if (typeof value !== 'string' || value.length === 0 || value.length > textMaxLength) return undefined
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(value) ? undefined : value
}

function claimText(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length <= 1024 && !value.includes('\u0000') ? value : undefined
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value)
  return undefined
}

/**
 * Validates a context before anything is sent to the server and returns it in canonical form (ids as
 * text, userId '' when absent so a stale value can never survive; every configured claim set, '' when
 * missing).
 */
export function normalizeContextWith(
  context: {
    readonly tenantId: unknown
    readonly userId?: unknown
    readonly claims?: Readonly<Record<string, unknown>> | undefined
  },
  config: TenantContextConfig | undefined,
): NormalizedContext {
  const tenantType = config?.tenantIdType ?? 'uuid'
  const userType = config?.userIdType ?? 'uuid'
  if (context === null || typeof context !== 'object') throw new RowfenceError('ROWFENCE_INVALID_TENANT')
  const tenantId = normalizeId(context.tenantId, tenantType)
  if (tenantId === undefined) {
    throw new RowfenceError('ROWFENCE_INVALID_TENANT', {
      message: tenantType === 'uuid' ? undefined : `The tenant id must be a valid ${tenantType} id`,
    })
  }
  let userId = ''
  if (context.userId !== undefined && context.userId !== null) {
    const normalized = normalizeId(context.userId, userType)
    if (normalized === undefined) {
      throw new RowfenceError('ROWFENCE_INVALID_USER', {
        message: userType === 'uuid' ? undefined : `The user id must be a valid ${userType} id`,
      })
    }
    userId = normalized
  }
  const claims = context.claims ?? {}
  for (const name of Object.keys(claims)) {
    if (!config?.claims || !Object.hasOwn(config.claims, name)) {
      throw new RowfenceError('ROWFENCE_INVALID_INPUT', {
        message: 'The context carries a claim that is not configured',
        details: { claim: name },
      })
    }
  }
  if (isDefault(config)) return { tenantId, userId }
  const values: Record<string, string> = {}
  for (const claim of Object.keys(config?.claims ?? {})) {
    const raw = claims[claim]
    const value = raw === undefined || raw === null ? '' : claimText(raw)
    if (value === undefined) {
      throw new RowfenceError('ROWFENCE_INVALID_INPUT', {
        message: 'A claim value must be a string, number, bigint or boolean',
        details: { claim },
      })
    }
    values[claim] = value
  }
  if (config?.signing) {
    const identity = JSON.stringify([tenantId, userId, values])
    const signed = signContextCached({ tenantId, userId, claims: values }, identity, config.signing)
    const value: [string, string] = [config.contextSetting ?? CONTEXT_SETTING, signed]
    return {
      tenantId,
      userId,
      // sendPlain: the plain settings too, for a schema not yet migrated to the signed context
      settings:
        config.signing.sendPlain === true
          ? [value, ...plainSettings(config, tenantId, userId, values)]
          : [value],
      identity,
    }
  }
  return { tenantId, userId, settings: plainSettings(config, tenantId, userId, values) }
}

/** The plain settings of a validated context, in order: tenant, user, then each configured claim. */
function plainSettings(
  config: TenantContextConfig | undefined,
  tenantId: string,
  userId: string,
  values: Readonly<Record<string, string>>,
): [string, string][] {
  return [
    [config?.tenantSetting ?? TENANT_SETTING, tenantId],
    [config?.userSetting ?? USER_SETTING, userId],
    ...Object.entries(config?.claims ?? {}).map(([claim, setting]): [string, string] => [
      setting,
      values[claim]!,
    ]),
  ]
}

/**
 * The statement that sets a non-default context: `set_config($1, $2, true), set_config($3, $4, true), ...`
 * with setting names and values all bind parameters. Named per number of settings, so it is parsed once
 * per connection.
 */
export function customContextStatement(
  settings: readonly (readonly [string, string])[],
  plan: PlanCacheMode | boolean | undefined,
): { name: string; text: string; values: string[] } {
  const mode = plan === true ? 'generic' : plan === false ? undefined : plan
  const key = `${settings.length}${mode ? `_${mode}` : ''}`
  let rendered = customContextTexts.get(key)
  if (rendered === undefined) {
    const calls = settings.map((_, index) => `set_config($${2 * index + 1}, $${2 * index + 2}, true)`)
    if (mode) calls.push(`set_config('plan_cache_mode', 'force_${mode}_plan', true)`)
    rendered = { name: `rowfence_set_context_${key}`, text: `SELECT ${calls.join(', ')}` }
    if (customContextTexts.size >= 64) customContextTexts.clear()
    customContextTexts.set(key, rendered)
  }
  return { name: rendered.name, text: rendered.text, values: settings.flat() }
}

/**
 * The name and text of customContextStatement per number of settings and plan mode, rendered once: they
 * depend on nothing else (names and values are bind parameters). A handful of entries; bounded anyway.
 */
const customContextTexts = new Map<string, { readonly name: string; readonly text: string }>()

/** A plan_cache_mode rowfence sets transaction-locally: `force_generic_plan` or `force_custom_plan`. */
export type PlanCacheMode = 'generic' | 'custom'
