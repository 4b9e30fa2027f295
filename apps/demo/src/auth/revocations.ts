import type { Pool } from 'pg'
import { DemoError } from '../errors.ts'

/** What a verified token carries for revocation: its id (jti) and when it expires anyway. */
export interface RevocableToken {
  readonly tokenId: string
  readonly expiresAt: Date
}

/**
 * The denylist of token ids, in PostgreSQL (rowfence.revoked_tokens, migration 0004) so that a logout or a
 * revoked API token is refused by every server process, not only the one that handled the logout. A row
 * lives until the token would have expired anyway. Checked on every authenticated request.
 */
export class TokenRevocations {
  readonly #pool: Pool

  constructor(pool: Pool) {
    this.#pool = pool
  }

  async revoke(token: RevocableToken): Promise<void> {
    await this.#pool.query('SELECT rowfence.revoke_token($1, $2)', [token.tokenId, token.expiresAt])
  }

  async isRevoked(tokenId: string): Promise<boolean> {
    const { rows } = await this.#pool.query<{ revoked: boolean }>({
      name: 'demo_token_revoked',
      text: 'SELECT rowfence.token_revoked($1) AS revoked',
      values: [tokenId],
    })
    return rows[0]?.revoked === true
  }

  /** Throws 401 when the token was revoked (logged out, or revoked through the API). */
  async assertActive(token: RevocableToken): Promise<void> {
    if (await this.isRevoked(token.tokenId)) {
      throw new DemoError('ROWFENCE_UNAUTHENTICATED', { message: 'The token has been revoked' })
    }
  }
}
