import type { FastifyInstance, FastifyRequest } from 'fastify'
import { RowfenceError } from '@rowfence/core'

function containsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000')
  if (depth > 32 || value === null || typeof value !== 'object') return false
  if (Array.isArray(value)) return value.some((item) => containsNul(item, depth + 1))
  return Object.entries(value).some(([key, item]) => key.includes('\u0000') || containsNul(item, depth + 1))
}

/**
 * PostgreSQL text cannot hold a NUL character (SQLSTATE 22021). Any NUL in the query string, the route
 * parameters or the parsed body is refused before validation with 400 ROWFENCE_INVALID_INPUT, so it
 * never reaches a query (or the login limiter) as a 500.
 */
export function registerRejectNul(app: FastifyInstance): void {
  app.addHook('preValidation', async function rejectNul(request: FastifyRequest) {
    if (containsNul(request.query) || containsNul(request.params) || containsNul(request.body)) {
      throw new RowfenceError('ROWFENCE_INVALID_INPUT', {
        message: 'Text must not contain NUL characters',
      })
    }
  })
}
