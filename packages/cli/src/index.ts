/**
 * `@rowfence/cli`: the `rowfence` command (generate, migrate, status, check) as a library, the config
 * file's types, and the small command framework its commands are built on.
 */
export { main, commands } from './main.ts'
export { runProgram, CLI_VERSION, type Program } from './program.ts'
export { CliError, maskUrl, usageError } from './cli-error.ts'
export { parseCommandArgs, type Command, type CommandIo } from './commands/shared.ts'
export { CONFIG_FILES, defineConfig, loadConfig, type LoadedConfig, type RowfenceConfig } from './config.ts'
