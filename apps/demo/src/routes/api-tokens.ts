import type { FastifyInstance } from 'fastify'
import type { Pool } from 'pg'
import { authenticateUser } from '../auth/login.ts'
import { attemptLogin, type LoginLimiter } from '../auth/login-limiter.ts'
import { signToken } from '../auth/token.ts'
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

/** Keys a failed login counts against: the client address and the tenant+user it tried. */
export function loginKeys(ip: string, credentials: { tenant: string; user: string }) {
  return { ip: `ip:${ip}`, user: `user:${credentials.tenant}\u0000${credentials.user}` }
}

export const WRONG_CREDENTIALS = 'Wrong tenant, user or password'

export function apiTokenRoutes(
  app: FastifyInstance,
  options: { authPool: Pool; limiter: LoginLimiter; jwtSecret: string },
): void {
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
      const user = await attemptLogin(
        options.limiter,
        loginKeys(request.ip, request.body),
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
}
