import { CliError } from '@rowfence/cli'
import { startEmbedded, type DatabaseEnvironment } from './embedded.ts'
import { loadLocalConfig, rowfenceHome } from './home.ts'
import { readSettings } from './settings.ts'

/**
 * DATABASE_URL (owner role) + APP_DATABASE_URL (app role) select an external server; without them the
 * embedded PostgreSQL under .rowfence/ is started.
 */
export async function openDatabaseEnvironment(
  log: (line: string) => void,
  options: { needApp: boolean } = { needApp: true },
): Promise<DatabaseEnvironment> {
  const { databaseUrl: ownerUrl, appDatabaseUrl: appUrl, adminDatabaseUrl, authDatabaseUrl } = readSettings()
  if (ownerUrl) {
    if (!appUrl && options.needApp) {
      throw new CliError(
        'ROWFENCE_CONFIG_INVALID',
        'APP_DATABASE_URL is required when DATABASE_URL is set: the app never connects as the owner role',
        { exitCode: 2 },
      )
    }
    return {
      ownerUrl,
      appUrl: appUrl ?? '',
      adminUrl: adminDatabaseUrl,
      authUrl: authDatabaseUrl,
      embedded: false,
      close: async () => undefined,
    }
  }
  const home = rowfenceHome()
  return startEmbedded(home, await loadLocalConfig(home), log)
}
