/**
 * The statements the bench runs without HTTP. `listItems` is the text of the demo's `GET /items/`
 * statement (apps/demo/src/routes/items.ts); `listPlainItems` is the same on the no-RLS copy.
 */
export const LIST_ITEMS_SQL = `SELECT id, title, tenant_id FROM items
         WHERE tenant_id = $1 AND ($2::text IS NULL OR title > $2)
         ORDER BY title LIMIT $3`

export const LIST_PLAIN_ITEMS_SQL = LIST_ITEMS_SQL.replace('FROM items\n', 'FROM bench.items_plain\n')

/** The same list with no tenant predicate at all: only the RLS policy filters. */
export const LIST_ITEMS_POLICY_ONLY_SQL = `SELECT id, title, tenant_id FROM items
         WHERE ($1::text IS NULL OR title > $1)
         ORDER BY title LIMIT $2`
