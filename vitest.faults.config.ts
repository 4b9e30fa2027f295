import { defineConfig } from 'vitest/config'
import base from './vitest.config.ts'

/**
 * `npm run test:faults`: the fault-injection tests (test/faults/*.fault.ts). They start their own
 * PostgreSQL, PgBouncer and demo server processes, so they do without the shared global setup and run
 * one file at a time (each one loads the machine).
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/faults/**/*.fault.ts'],
    globalSetup: [],
    testTimeout: 240_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
})
