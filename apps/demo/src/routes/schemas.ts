/** JSON schemas shared by routes, serialization and the OpenAPI document. */
export const itemSchema = {
  $id: 'Item',
  type: 'object',
  required: ['id', 'title', 'tenant_id'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    title: { type: 'string' },
    tenant_id: { type: 'string', format: 'uuid' },
  },
} as const

export const tenantSchema = {
  $id: 'Tenant',
  type: 'object',
  required: ['id', 'name', 'items'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    items: { type: 'array', items: { $ref: 'Item#' } },
  },
} as const

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', examples: ['ROWFENCE_UNAUTHENTICATED'] },
    message: { type: 'string' },
  },
} as const

export const errorResponses = {
  400: { description: 'Invalid input (ROWFENCE_INVALID_INPUT, ROWFENCE_INVALID_TENANT)', $ref: 'Error#' },
  401: { description: 'Missing, invalid or expired token (ROWFENCE_UNAUTHENTICATED)', $ref: 'Error#' },
  503: { description: 'Database unavailable (ROWFENCE_DATABASE_UNAVAILABLE)', $ref: 'Error#' },
} as const
