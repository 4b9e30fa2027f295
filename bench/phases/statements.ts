/**
 * The statements the bench runs without HTTP. `LIST_ITEMS_SQL` is the text of the demo's first page of
 * `GET /items/` (apps/demo/src/routes/items.ts, `listItems`); `LIST_PLAIN_ITEMS_SQL` is the same on the
 * no-RLS copy. Values: tenant id, limit.
 */
export const LIST_ITEMS_SQL = `SELECT id, title, tenant_id FROM items
         WHERE tenant_id = $1
         ORDER BY title LIMIT $2`

export const LIST_PLAIN_ITEMS_SQL = LIST_ITEMS_SQL.replace('FROM items\n', 'FROM bench.items_plain\n')

/** The same list with no tenant predicate at all: only the RLS policy filters. Values: limit. */
export const LIST_ITEMS_POLICY_ONLY_SQL = `SELECT id, title, tenant_id FROM items
         ORDER BY title LIMIT $1`

/** The demo's next pages (`listItemsAfter`): a keyset cursor the index takes. Values: tenant id, cursor, limit. */
export const LIST_ITEMS_AFTER_SQL = `SELECT id, title, tenant_id FROM items
         WHERE tenant_id = $1 AND title > $2
         ORDER BY title LIMIT $3`
