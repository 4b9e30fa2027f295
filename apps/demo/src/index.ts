export { APP_VERSION, buildApp, type DemoAppOptions } from './app.ts'
export type { BenchRoutesOptions } from './routes/bench.ts'
export {
  secretKey,
  signToken,
  TOKEN_ALGORITHM,
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  verifyToken,
  type SignTokenOptions,
  type TokenClaims,
} from './auth/token.ts'
export {
  articlesDemo,
  DEMO_ARTICLE_BODY,
  DEMO_OPERATOR,
  DEMO_PASSWORD,
  itemsDemo,
  seedArticlesDemo,
  seedDemo,
  seedItemsDemo,
  type ArticlesDemoTenant,
  type DemoItem,
  type DemoTenant,
  type SeedCounts,
  type SeedOptions,
} from './seed.ts'
export { demoUuid } from './demo-ids.ts'
export { demoSchema } from './schema.ts'
export { ITEMS_DEFAULT_LIMIT, ITEMS_MAX_LIMIT } from './routes/items.ts'
export { toHttpError } from './plugins/error-handler.ts'
export { DemoError, demoErrorCatalogue, isHttpError, type DemoErrorCode, type HttpError } from './errors.ts'
export {
  demoCitusMigrationsDir,
  demoMigrationsDir,
  plainContextMigrations,
  SIGNED_CONTEXT_MIGRATION,
} from './migrations-dir.ts'
export { ADMIN_ROLE, APP_ROLE, AUTH_ROLE, DATABASE_NAME, OWNER_ROLE } from './roles.ts'
export { provisionCitusDemo, type CitusDemoDatabase } from './launcher/citus.ts'
