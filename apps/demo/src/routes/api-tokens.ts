import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Pool } from 'pg'
import { authenticateUser } from '../auth/login.ts'
import { tenantLoginKeys, type LoginLimiter } from '../auth/login-limiter.ts'
import type { TokenRevocations } from '../auth/revocations.ts'
import { signToken } from '../auth/token.ts'
import { DemoError } from '../errors.ts'
import { errorResponses } from './schemas.ts'

export const API_TOKEN_LIFETIME_SECONDS = 3600

interface Credentials {
  tenant: string
  user: string
  password: string
}

export const credentialsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['tenant', 'user', 'password'],
  properties: {
    tenant: { type: 'string', minLength: 1, maxLength: 200 },
    user: { type: 'string', minLength: 1, maxLength: 100 },
    password: { type: 'string', minLength: 1, maxLength: 1024 },
  },
} as const

export const WRONG_CREDENTIALS = 'Wrong tenant, user or password'

export interface ApiTokenRoutesOptions {
  readonly authPool: Pool
  readonly limiter: LoginLimiter
  readonly jwtSecret: string
  readonly revocations: TokenRevocations
  /** The tenant API's onRequest hook: revoking a token needs that token. */
  readonly authenticate: (request: FastifyRequest) => Promise<void>
}

/** Issuing API tokens for a password, and revoking the one presented. */
export function apiTokenRoutes(app: FastifyInstance, options: ApiTokenRoutesOptions): void {
  app.post<{ Body: Credentials }>(
    '/api/tokens',
    {
      schema: {
        summary: 'Exchange tenant + user + password for an API token (the same format as `rowfence token`)',
        tags: ['articles app'],
        body: credentialsSchema,
        response: {
          200: {
            type: 'object',
            required: ['token', 'token_type', 'expires_in'],
            properties: {
              token: { type: 'string' },
              token_type: { type: 'string', enum: ['Bearer'] },
              expires_in: { type: 'integer' },
            },
          },
          ...errorResponses,
          429: { description: 'Too many failed logins (ROWFENCE_RATE_LIMITED)', $ref: 'Error#' },
        },
      },
    },
    async function issueApiToken(request) {
      const user = await options.limiter.attempt(
        options.authPool,
        tenantLoginKeys(request.ip, request.body),
        () => authenticateUser(options.authPool, request.body),
        WRONG_CREDENTIALS,
      )
      const token = await signToken({
        secret: options.jwtSecret,
        tenantId: user.tenantId,
        userId: user.userId,
        subject: user.userName,
        expiresIn: `${API_TOKEN_LIFETIME_SECONDS}s`,
      })
      return { token, token_type: 'Bearer', expires_in: API_TOKEN_LIFETIME_SECONDS }
    },
  )

  app.delete(
    '/api/tokens/current',
    {
      onRequest: options.authenticate,
      schema: {
        summary: 'Revoke the bearer token of this request; every server refuses it from now on',
        tags: ['articles app'],
        security: [{ bearerAuth: [] }],
        response: { 204: { description: 'Revoked', type: 'null' }, ...errorResponses },
      },
    },
    async function revokeApiToken(request, reply) {
      if (!request.apiToken) {
        throw new DemoError('ROWFENCE_UNAUTHENTICATED', { message: 'Only a bearer token can be revoked' })
      }
      await options.revocations.revoke(request.apiToken)
      return reply.code(204).send()
    },
  )
}
