import { defineConfig } from 'vitest/config'
import base from './vitest.config.ts'

/**
 * `npm run test:citus`: the Citus leg (test/citus/*.citus.ts). The files share one local Citus cluster
 * (coordinator + 2 workers) that the global setup starts, or skip with a message saying how to install
 * Citus when the machine has none. Run one file at a time: a cluster is three servers on a small machine.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/citus/**/*.citus.ts'],
    globalSetup: ['./test/citus/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 240_000,
    fileParallelism: false,
  },
})
