import pg from 'pg'
import { inject } from 'vitest'
import { CITUS_INSTALL_HINT } from '@rowfence/tools'
import type { SignedCitusDatabase } from './signed-database.ts'

/** What the Citus global setup provides: role URLs of the demo database on the coordinator. */
export interface CitusTestCluster {
  readonly appUrl: string
  readonly ownerUrl: string
  /** rowfence_admin (platform operators). */
  readonly adminUrl: string
  readonly authUrl: string
  readonly superuserUrl: string
  /** The superuser on each worker, in the demo database (to look at shards). */
  readonly workerSuperuserUrls: readonly string[]
  /** A second database with the signed context (Citus flavour): see signed-database.ts. */
  readonly signed: SignedCitusDatabase
}

declare module 'vitest' {
  export interface ProvidedContext {
    citus: CitusTestCluster | null
  }
}

/** The cluster, or null when Citus is not installed (describe.skipIf(!citus) then). */
export const citus: CitusTestCluster | null = inject('citus')

/** The title of a suite that skips without Citus: the skip says why and how to install it. */
export function citusSuite(title: string): string {
  return citus ? title : `${title} (skipped: ${CITUS_INSTALL_HINT})`
}

/** Pools opened here are ended by closeAll(). */
const pools: pg.Pool[] = []

export function poolFor(role: 'app' | 'owner' | 'admin' | 'auth' | 'superuser', max = 5): pg.Pool {
  if (!citus) throw new Error('no Citus cluster')
  const url = {
    app: citus.appUrl,
    owner: citus.ownerUrl,
    admin: citus.adminUrl,
    auth: citus.authUrl,
    superuser: citus.superuserUrl,
  }[role]
  const pool = new pg.Pool({ connectionString: url, max })
  pools.push(pool)
  return pool
}

export async function closeAll(): Promise<void> {
  await Promise.all(pools.splice(0).map((pool) => pool.end()))
}
