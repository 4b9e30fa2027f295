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

export const articleSchema = {
  $id: 'Article',
  type: 'object',
  required: ['id', 'user_id', 'author', 'title', 'body', 'pages', 'created_at', 'updated_at'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    user_id: { type: 'string', format: 'uuid' },
    author: { type: 'string' },
    title: { type: 'string' },
    body: { type: 'string' },
    pages: { type: 'integer' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const

export const userSchema = {
  $id: 'User',
  type: 'object',
  required: ['id', 'name', 'article_count', 'page_sum'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
    article_count: { type: 'integer' },
    page_sum: { type: 'integer' },
    article_titles: { type: 'array', items: { type: 'string' } },
  },
} as const

export const storageSchema = {
  $id: 'Storage',
  type: 'object',
  required: ['tables', 'total'],
  properties: {
    tables: {
      type: 'array',
      items: {
        type: 'object',
        required: ['table', 'rows', 'bytes'],
        properties: { table: { type: 'string' }, rows: { type: 'integer' }, bytes: { type: 'integer' } },
      },
    },
    total: {
      type: 'object',
      required: ['rows', 'bytes'],
      properties: { rows: { type: 'integer' }, bytes: { type: 'integer' } },
    },
  },
} as const

export const allSchemas = [
  itemSchema,
  tenantSchema,
  errorSchema,
  articleSchema,
  userSchema,
  storageSchema,
] as const
