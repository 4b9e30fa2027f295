export { main, commands } from './main.ts'
export { CliError, maskUrl } from './cli-error.ts'
export {
  connectionUrl,
  freePort,
  startTemporaryPostgres,
  type TemporaryPostgres,
  loadEmbeddedPostgres,
  startEmbedded,
  ADMIN_ROLE,
  APP_ROLE,
  AUTH_ROLE,
  OWNER_ROLE,
  DATABASE_NAME,
  type DatabaseEnvironment,
} from './embedded.ts'
