import type {
  CheckModel,
  ColumnModel,
  ColumnType,
  ContextModel,
  DefaultModel,
  DistributionModel,
  ForeignKeyModel,
  KeyModel,
  PolicyModel,
  Privilege,
  SchemaFlavour,
  SignUpModel,
  TableModel,
} from './model.ts'
import type { SignUpContext } from './sign-up.ts'

/**
 * One DDL step, as data. `diffSchemas()` produces a list of these; `compileOperations()` is the one
 * place that turns them into SQL text (and the one place identifiers get quoted).
 */
export type Operation =
  /** A `--` comment line that explains the next statements (line breaks are flattened). */
  | { readonly kind: 'comment'; readonly text: string }
  /** The rowfence schema and the STABLE context functions, executable by the app role only. */
  | { readonly kind: 'createContext'; readonly appRole: string; readonly context: ContextModel }
  /** The tenant sign-up SECURITY DEFINER function (see sign-up.ts), executable by the app role only. */
  | {
      readonly kind: 'createSignUp'
      readonly signUp: SignUpModel
      readonly appRole: string
      readonly context: SignUpContext
    }
  | { readonly kind: 'dropSignUp'; readonly signUp: SignUpModel }
  /** Citus: run DDL over shards sequentially, as Citus asks for migrations that create related tables. */
  | { readonly kind: 'citusSequential' }
  /** CREATE TABLE with columns, primary key, unique and check constraints. */
  | { readonly kind: 'createTable'; readonly table: TableModel }
  | { readonly kind: 'dropTable'; readonly table: string }
  | { readonly kind: 'distributeTable'; readonly table: string; readonly distribution: DistributionModel }
  | { readonly kind: 'addColumn'; readonly table: string; readonly column: ColumnModel }
  | { readonly kind: 'dropColumn'; readonly table: string; readonly column: string }
  | {
      readonly kind: 'alterColumnType'
      readonly table: string
      readonly column: string
      readonly type: ColumnType
    }
  | {
      readonly kind: 'setNotNull' | 'dropNotNull' | 'dropDefault'
      readonly table: string
      readonly column: string
    }
  | {
      readonly kind: 'setDefault'
      readonly table: string
      readonly column: string
      readonly default: DefaultModel
    }
  | { readonly kind: 'addUnique'; readonly table: string; readonly key: KeyModel }
  | { readonly kind: 'addCheck'; readonly table: string; readonly check: CheckModel }
  | { readonly kind: 'addForeignKey'; readonly table: string; readonly foreignKey: ForeignKeyModel }
  | { readonly kind: 'dropConstraint'; readonly table: string; readonly name: string }
  | { readonly kind: 'createIndex'; readonly table: string; readonly index: KeyModel }
  | { readonly kind: 'dropIndex'; readonly name: string }
  /** ENABLE and FORCE row-level security (FORCE: the owner is filtered too). */
  | { readonly kind: 'enableRls'; readonly table: string }
  | {
      readonly kind: 'createPolicy'
      readonly table: string
      readonly policy: PolicyModel
      readonly flavour: SchemaFlavour
    }
  | { readonly kind: 'dropPolicy'; readonly table: string; readonly name: string }
  | { readonly kind: 'revokeAllFromPublic'; readonly table: string }
  | {
      readonly kind: 'grant' | 'revoke'
      readonly table: string
      readonly privileges: readonly Privilege[]
      readonly role: string
    }
