/**
 * The article field limits, defined once: the database checks (src/schema.ts -> the generated
 * migration), the API's JSON schemas, the HTML forms' attributes and the per-user quota all read them.
 */
export const ARTICLE_LIMITS = {
  title: { min: 1, max: 200 },
  body: { min: 0, max: 20_000 },
  pages: { min: 0, max: 100_000 },
  /** Articles one user may own; checked by createArticle under a per-user lock. */
  perUser: 1_000,
} as const

/** JSON-schema fragments of the writable article fields. */
export const articleFieldSchemas = {
  title: { type: 'string', minLength: ARTICLE_LIMITS.title.min, maxLength: ARTICLE_LIMITS.title.max },
  body: { type: 'string', maxLength: ARTICLE_LIMITS.body.max },
  pages: { type: 'integer', minimum: ARTICLE_LIMITS.pages.min, maximum: ARTICLE_LIMITS.pages.max },
} as const
