import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type pg from 'pg'
import { createTenantDatabase, type ContextMode } from '@rowfence/core'
import { buildApp, signToken } from '@rowfence/demo'

export const TEST_SECRET = randomBytes(32).toString('hex')

/** Collects pino's JSON lines so tests can assert what is (and is not) logged. */
export class LogCapture extends Writable {
  readonly lines: string[] = []
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
    done()
  }
  get text(): string {
    return this.lines.join('\n')
  }
}

export async function buildTestApp(
  pool: pg.Pool,
  options: {
    trustTenantHeader?: boolean
    logs?: LogCapture
    authPool?: pg.Pool
    adminPool?: pg.Pool
    trustProxy?: false | number | string
    contextMode?: ContextMode
  } = {},
): Promise<FastifyInstance> {
  const app = await buildApp({
    db: createTenantDatabase(pool, { contextMode: options.contextMode }),
    authPool: options.authPool,
    adminPool: options.adminPool,
    trustProxy: options.trustProxy,
    jwtSecret: TEST_SECRET,
    trustTenantHeader: options.trustTenantHeader ?? false,
    logger: options.logs ? { level: 'info', stream: options.logs } : false,
  })
  await app.ready()
  return app
}

export function tokenFor(
  tenantId: string,
  extra: { expiresIn?: string; secret?: string } = {},
): Promise<string> {
  return signToken({
    secret: extra.secret ?? TEST_SECRET,
    tenantId,
    subject: 'test',
    expiresIn: extra.expiresIn ?? '5m',
  })
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
