import { fileURLToPath } from 'node:url'

/** The demo app's SQL migrations. */
export const demoMigrationsDir = fileURLToPath(new URL('../migrations/', import.meta.url))

/** The Citus flavour of the same migrations: distributed tables, no triggers (see docs/citus.md). */
export const demoCitusMigrationsDir = fileURLToPath(new URL('../migrations-citus/', import.meta.url))
