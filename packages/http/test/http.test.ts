import { generateKeyPairSync } from 'node:crypto'
import { RowfenceError } from '@rowfence/core'
import { insecureHeaderResolver, jwtResolver, RowfenceHttpError, toErrorResponse } from '@rowfence/http'
import { SignJWT, UnsecuredJWT } from 'jose'
import { describe, expect, it } from 'vitest'

const secret = 'a-test-secret-that-is-long-enough-for-hs256'
const tenantId = '11111111-1111-4111-8111-111111111111'
const options = { secret, algorithms: ['HS256'] as [string], audience: 'api', issuer: 'https://issuer.test' }

const sign = (
  claims: Record<string, unknown> = { tenant_id: tenantId },
  change: (jwt: SignJWT) => SignJWT = (jwt) => jwt,
) =>
  change(
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(options.issuer)
      .setAudience(options.audience)
      .setSubject('22222222-2222-4222-8222-222222222222')
      .setExpirationTime('5m'),
  ).sign(new TextEncoder().encode(secret))
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

describe('jwtResolver', () => {
  const resolve = jwtResolver(options)

  it('returns the context of a valid token, from Node headers and from a Fetch API Request', async () => {
    const token = await sign()
    const expected = { tenantId, userId: '22222222-2222-4222-8222-222222222222' }
    expect(await resolve(bearer(token))).toEqual(expected)
    const request = new Request('http://x/', { headers: { Authorization: `Bearer ${token}` } })
    expect(await resolve(request)).toEqual(expected)
  })

  it.each([
    ['no header', () => Promise.resolve({ headers: {} })],
    ['not a bearer', () => Promise.resolve({ headers: { authorization: 'Basic abc' } })],
    ['garbage', () => Promise.resolve(bearer('a.b.c'))],
    [
      'another issuer',
      async () => bearer(await sign(undefined, (jwt) => jwt.setIssuer('https://evil.test'))),
    ],
    ['another audience', async () => bearer(await sign(undefined, (jwt) => jwt.setAudience('other')))],
    [
      'expired',
      async () =>
        bearer(await sign(undefined, (jwt) => jwt.setExpirationTime(Math.floor(Date.now() / 1000) - 10))),
    ],
    ['no tenant claim', async () => bearer(await sign({}))],
    [
      'alg none',
      async () =>
        bearer(
          new UnsecuredJWT({ tenant_id: tenantId }).setIssuer(options.issuer).setAudience('api').encode(),
        ),
    ],
    [
      'another algorithm (HS512 with the same secret)',
      async () =>
        bearer(
          await new SignJWT({ tenant_id: tenantId })
            .setProtectedHeader({ alg: 'HS512' })
            .setIssuer(options.issuer)
            .setAudience(options.audience)
            .sign(new TextEncoder().encode(secret)),
        ),
    ],
  ])('refuses %s with a 401 that does not echo the token', async (_label, request) => {
    const sent = await request()
    const error: unknown = await resolve(sent as never).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(RowfenceHttpError)
    expect(toErrorResponse(error)).toMatchObject({ status: 401, body: { code: 'ROWFENCE_UNAUTHENTICATED' } })
    const header = (sent.headers as Record<string, string>).authorization ?? ''
    if (header.length > 20) expect((error as Error).message).not.toContain(header.slice(7, 27))
  })

  it('pins the algorithm: an RS256 verifier refuses an HS256 token signed with the public key as secret', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string
    const rs = jwtResolver({ key: publicKey, algorithms: ['RS256'], audience: 'api', issuer: options.issuer })
    const forged = await new SignJWT({ tenant_id: tenantId })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(options.issuer)
      .setAudience('api')
      .sign(new TextEncoder().encode(pem))
    await expect(rs(bearer(forged))).rejects.toMatchObject({ code: 'ROWFENCE_UNAUTHENTICATED' })
  })

  it('refuses a configuration without exactly one algorithm, an audience, an issuer or a key', () => {
    expect(() => jwtResolver({ ...options, algorithms: [] as unknown as [string] })).toThrow(/exactly one/)
    expect(() => jwtResolver({ ...options, algorithms: ['HS256', 'RS256'] as unknown as [string] })).toThrow(
      /exactly one/,
    )
    expect(() => jwtResolver({ ...options, algorithms: ['none'] })).toThrow(/none/)
    expect(() => jwtResolver({ ...options, audience: '' })).toThrow(/audience/)
    expect(() => jwtResolver({ ...options, issuer: undefined as unknown as string })).toThrow(/issuer/)
    expect(() => jwtResolver({ ...options, secret: undefined })).toThrow(/exactly one of/)
  })
})

describe('insecureHeaderResolver', () => {
  it('reads the headers as sent, and nothing without the tenant header', () => {
    const resolve = insecureHeaderResolver()
    expect(resolve({ headers: { 'x-tenant-id': tenantId } })).toEqual({ tenantId, userId: undefined })
    expect(
      resolve(new Request('http://x/', { headers: { 'X-Tenant-Id': tenantId, 'X-User-Id': tenantId } })),
    ).toEqual({
      tenantId,
      userId: tenantId,
    })
    expect(resolve({ headers: {} })).toBeUndefined()
  })
})

describe('toErrorResponse', () => {
  const pgError = (code: string) =>
    Object.assign(new Error('duplicate key value violates unique constraint "items_pkey"'), {
      code,
      severity: 'ERROR',
      detail: 'Key (tenant_id, id)=(1, 2) already exists.',
    })

  it.each([
    ['42501', 403, 'ROWFENCE_FORBIDDEN'],
    ['23503', 404, 'ROWFENCE_NOT_FOUND'],
    ['23505', 409, 'ROWFENCE_CONFLICT'],
    ['22P02', 400, 'ROWFENCE_INVALID_INPUT'],
    ['57P01', 503, 'ROWFENCE_DATABASE_UNAVAILABLE'],
    ['XX000', 500, 'ROWFENCE_INTERNAL'],
  ])('maps SQLSTATE %s to %i %s, without SQL, DETAIL or stack', (sqlstate, status, code) => {
    const wrapped = new Error('Failed query: INSERT INTO items ... params: secret', {
      cause: pgError(sqlstate),
    })
    const response = toErrorResponse(wrapped)
    expect(response.status).toBe(status)
    expect(response.body.code).toBe(code)
    expect(Object.keys(response.body)).toEqual(['code', 'message'])
    expect(JSON.stringify(response)).not.toMatch(/INSERT|Key \(|items_pkey|secret|at /)
  })

  it('adds Retry-After to 503s, keeps catalogue errors and framework 4xx statuses', () => {
    expect(toErrorResponse(new RowfenceError('ROWFENCE_DATABASE_BUSY')).headers).toEqual({
      'retry-after': '1',
    })
    expect(toErrorResponse(new RowfenceError('ROWFENCE_NOT_FOUND')).status).toBe(404)
    expect(toErrorResponse(Object.assign(new Error('Payload Too Large'), { status: 413 }))).toEqual({
      status: 413,
      body: { code: 'ROWFENCE_REQUEST_REJECTED', message: 'The request was rejected' },
      headers: {},
    })
    expect(toErrorResponse({ getStatus: () => 404, message: 'Cannot GET /x' }).body.code).toBe(
      'ROWFENCE_NOT_FOUND',
    )
    expect(toErrorResponse(new TypeError('boom')).body).toEqual({
      code: 'ROWFENCE_INTERNAL',
      message: 'Internal server error',
    })
  })
})
