/** Private: the PostgreSQL harness shared by the tests, the benchmarks and the demo launcher. */
export {
  connectionUrl,
  freePort,
  loadEmbeddedPostgres,
  startTemporaryPostgres,
  type TemporaryPostgres,
} from './postgres.ts'
export { countRoundTrips, type WireCounter } from './wire.ts'
