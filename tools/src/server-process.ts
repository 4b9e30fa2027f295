import { execFile } from 'node:child_process'
import { chown } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** PostgreSQL refuses to run as root: its tools run as the `postgres` system user then. */
export async function asPostgres(command: string, args: readonly string[]): Promise<string> {
  if (userInfo().uid === 0) {
    const quoted = [command, ...args].map((part) => `'${part.replace(/'/g, `'\\''`)}'`).join(' ')
    return (await run('su', ['postgres', '-s', '/bin/sh', '-c', quoted])).stdout
  }
  return (await run(command, [...args])).stdout
}

async function postgresIds(): Promise<[number, number]> {
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim())
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim())
  return [uid, gid]
}

/** Hands files to the `postgres` system user when running as root (see asPostgres); nothing otherwise. */
export async function giveToPostgres(...paths: string[]): Promise<void> {
  if (userInfo().uid !== 0) return
  const ids = await postgresIds()
  for (const path of paths) await chown(path, ...ids)
}
