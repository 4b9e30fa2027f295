/**
 * `npm run bench:orm`: the ORM phase of `npm run bench` on its own (a temporary database with the demo
 * schema, no data set), printed and written into bench/RESULTS.md between the `orm-phase` markers.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { openBenchDatabase } from './database.ts'
import { runOrmPhase } from './phases/orm.ts'
import { ORM_SECTION_END, ORM_SECTION_START, ormSection, ormTargets } from './report/orm-section.ts'

const log = (line: string): void => void process.stderr.write(`[bench:orm] ${line}\n`)
const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback)

const database = await openBenchDatabase(log)
let section: string
try {
  const orm = await runOrmPhase(database, {
    callers: env('ORM_BENCH_CALLERS', 50),
    pool: env('ORM_BENCH_POOL', 20),
    rounds: env('ORM_BENCH_ROUNDS', 3),
    seconds: env('ORM_BENCH_SECONDS', 2),
    delayMs: 2.5,
    log,
  })
  section = ormSection(
    orm,
    `## ORM adapters (\`npm run bench:orm\`, ${new Date().toISOString().slice(0, 16)}Z)`,
  )
  console.log(section)
  for (const target of ormTargets(orm)) {
    console.log(`  ${target.met ? 'MET ' : 'MISS'} ${target.name}: ${target.measured}  [${target.target}]`)
  }
} finally {
  await database.close()
}
const file = join(import.meta.dirname, 'RESULTS.md')
const current = await readFile(file, 'utf8').catch(() => '')
const [start, end] = [current.indexOf(ORM_SECTION_START), current.indexOf(ORM_SECTION_END)]
await writeFile(
  file,
  start >= 0 && end > start
    ? current.slice(0, start) + section + current.slice(end + ORM_SECTION_END.length)
    : `${current.trimEnd()}\n\n${section}\n`,
)
