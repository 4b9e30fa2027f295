import { fileURLToPath } from 'node:url'

/** The demo app's SQL migrations. */
export const demoMigrationsDir = fileURLToPath(new URL('../migrations/', import.meta.url))
