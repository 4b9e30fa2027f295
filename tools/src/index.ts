/** Private: the PostgreSQL harness shared by the tests, the benchmarks and the demo launcher. */
export {
  connectionUrl,
  freePort,
  loadEmbeddedPostgres,
  startTemporaryPostgres,
  type TemporaryPostgres,
} from './postgres.ts'
export { countRoundTrips, type WireCounter } from './wire.ts'
export {
  CITUS_INSTALL_HINT,
  CitusCluster,
  DEFAULT_CITUS_PG_BIN,
  findCitus,
  type CitusClusterOptions,
  type CitusNode,
  type CitusRole,
} from './citus.ts'
export { asPostgres, giveToPostgres } from './server-process.ts'
