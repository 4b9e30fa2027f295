// Creates the schema and the two tenants as the owner (DATABASE_URL), and grants the app role (APP_ROLE,
// default "app") DML on the tenant table only. The app itself connects as the app role (APP_DATABASE_URL).
import { readFile } from 'node:fs/promises'
import pg from 'pg'
import { quoteIdentifier } from '@rowfence/core'

const owner = new pg.Client({ connectionString: process.env.DATABASE_URL })
await owner.connect()
try {
  await owner.query(await readFile(new URL('schema.sql', import.meta.url), 'utf8'))
  await owner.query(
    `GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO ${quoteIdentifier(process.env.APP_ROLE ?? 'app')}`,
  )
  console.log('schema ready: tenants acme and globex')
} finally {
  await owner.end()
}
