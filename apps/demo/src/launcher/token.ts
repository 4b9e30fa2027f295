import { isUuid } from '@rowfence/core'
import { parseCommandArgs, usageError, type Command } from '@rowfence/cli'
import { signToken } from '../auth/token.ts'
import { jwtSecret } from './home.ts'

export const tokenCommand: Command = {
  name: 'token',
  summary: 'Print a signed API token for a tenant (local use)',
  usage: `rowfence-demo token --tenant <uuid> [--user <uuid>] [--subject <name>] [--expires <span>]

Prints a JWT the demo server accepts as "Authorization: Bearer <token>". The secret is
ROWFENCE_JWT_SECRET, or the dev secret generated under .rowfence/ (ROWFENCE_HOME).

  --tenant <uuid>    tenant the token acts for (required)
  --user <uuid>      acting user id (optional)
  --subject <name>   token subject (default: cli)
  --expires <span>   lifetime such as 30m, 12h, 7d (default: 1h)`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {
      tenant: { type: 'string' },
      user: { type: 'string' },
      subject: { type: 'string', default: 'cli' },
      expires: { type: 'string', default: '1h' },
    })
    if (values.help) return (io.out(this.usage), 0)
    if (!isUuid(values.tenant)) throw usageError('--tenant <uuid> is required and must be a UUID')
    if (values.user !== undefined && !isUuid(values.user)) throw usageError('--user must be a UUID')
    if (!/^\d+\s?(s|sec|secs|m|min|mins|h|hr|hrs|d|days?|w|weeks?)$/.test(values.expires ?? '')) {
      throw usageError('--expires must be a span such as 30m, 12h or 7d')
    }
    io.out(
      await signToken({
        secret: await jwtSecret(),
        tenantId: values.tenant,
        userId: values.user,
        subject: values.subject ?? 'cli',
        expiresIn: values.expires,
      }),
    )
    return 0
  },
}
