import type { TestProject } from 'vitest/node'
import { provisionCitusDemo } from '@rowfence/demo'
import { CITUS_INSTALL_HINT, CitusCluster, findCitus } from '@rowfence/tools'
import type { CitusTestCluster } from './support/citus-cluster.ts'
import { provisionSignedDatabase } from './support/signed-database.ts'

/**
 * The Citus leg's one cluster: coordinator + 2 workers (found through the PostgreSQL installation or
 * ROWFENCE_CITUS_PG_BIN), the demo database migrated (Citus flavour) and seeded. Without Citus the
 * files skip, and this says how to install it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const bin = await findCitus()
  if (!bin) {
    if (process.env['ROWFENCE_CITUS_REQUIRED'] === '1') throw new Error(CITUS_INSTALL_HINT)
    console.warn(`\n*** Citus tests skipped. ${CITUS_INSTALL_HINT}\n`)
    project.provide('citus', null)
    return async () => undefined
  }
  const cluster = await CitusCluster.start({ bin })
  try {
    const demo = await provisionCitusDemo(cluster)
    const provided: CitusTestCluster = {
      appUrl: demo.appUrl,
      ownerUrl: demo.ownerUrl,
      adminUrl: demo.adminUrl,
      authUrl: demo.authUrl,
      superuserUrl: demo.superuserUrl,
      workerSuperuserUrls: cluster.workers.map((worker) => cluster.adminUrl(demo.database, worker)),
      signed: await provisionSignedDatabase(cluster, demo),
    }
    project.provide('citus', provided)
  } catch (error) {
    await cluster.stop()
    throw error
  }
  return () => cluster.stop()
}
