/** `herald serve`: runs a node until SIGINT/SIGTERM, then shuts down gracefully and exits 0. */
import { format } from 'node:util';
import { Command, Option } from 'commander';
import { setLogger, setLogVerbosity, logVerbosity } from '@grpc/grpc-js';
import { resolveRegistryOptions } from '../core/options.js';
import { createLogger, type Logger } from '../common/logger.js';
import { HeraldServer } from '../server/herald-server.js';
import { ListenError } from '../server/listen-error.js';
import { validateServerConfig } from '../server/config.js';
import { readConfigFile, printableConfig, withConfigFile } from './serve-config-file.js';
import { attributeName, commanderOption, inFlagTerms, SERVE_OPTIONS, settingsFrom, type ServeOption } from './serve-options.js';

/** Sends grpc-js's own diagnostics through our structured logger instead of bare stderr lines. */
function routeGrpcLogs(logger: Logger): void {
  const grpcLog = logger.child({ component: 'grpc-js' });
  setLogVerbosity(logVerbosity.ERROR);
  setLogger({
    error: (...args: unknown[]) => {
      const text = format(...args);
      // grpc-js's own line about a failed bind: the ListenError that follows says it plainly.
      if (/^No address added out of total/.test(text)) grpcLog.debug({}, text);
      else grpcLog.warn({}, text);
    },
    info: (...args: unknown[]) => {
      grpcLog.debug({}, format(...args));
    },
    debug: (...args: unknown[]) => {
      grpcLog.debug({}, format(...args));
    },
  });
}

export function serveCommand(): Command {
  const cmd = new Command('serve').description('run a herald server');
  cmd.addOption(new Option('--config <path>', 'YAML or JSON file of settings, keyed by these flags without the dashes (flags and env vars override it)').env('HERALD_CONFIG'));
  cmd.addOption(new Option('--print-config', 'print the effective configuration, and where each setting came from, as a config file; then exit'));
  for (const o of SERVE_OPTIONS) cmd.addOption(commanderOption(o));
  cmd.action(async (parsed: Record<string, unknown>) => {
    const configPath = typeof parsed.config === 'string' ? parsed.config : undefined;
    let merged = parsed;
    let fromFile = new Set<string>();
    if (configPath !== undefined) {
      try {
        ({ merged, fromFile } = withConfigFile(parsed, readConfigFile(configPath)));
      } catch (e) {
        cmd.error(`herald: ${e instanceof Error ? e.message : String(e)}`, { exitCode: 2 });
      }
    }
    const settings = settingsFrom(merged);
    if (parsed.printConfig === true) {
      const source = (o: ServeOption): 'flag' | 'env' | 'file' | 'default' => {
        const attr = attributeName(o);
        if (fromFile.has(attr)) return 'file';
        const from = cmd.getOptionValueSource(attr);
        return from === 'cli' ? 'flag' : from === 'env' ? 'env' : 'default';
      };
      // Printed even when invalid (the error follows), so a setting can be traced to where it came from.
      process.stdout.write(printableConfig(settings, source, configPath));
    }
    try {
      resolveRegistryOptions(settings.config.registry);
      validateServerConfig(settings.config);
    } catch (e) {
      cmd.error(`herald: invalid configuration: ${inFlagTerms(e instanceof Error ? e.message : String(e))}`, { exitCode: 2 });
    }
    if (parsed.printConfig === true) return;
    const logger = createLogger(settings.logLevel, { name: 'herald' });
    routeGrpcLogs(logger);
    // Signal handlers first: a signal during start-up must still lead to a clean stop.
    let signalled: (signal: NodeJS.Signals) => void = () => undefined;
    const stopRequested = new Promise<NodeJS.Signals>((resolve) => (signalled = resolve));
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      signalled(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let server: HeraldServer;
    try {
      server = await HeraldServer.start({ config: settings.config, logger });
    } catch (e) {
      // A port that is taken (or not ours) is said in one line; anything else is logged in full too.
      if (e instanceof ListenError) logger.debug({ err: e }, 'cannot start');
      else logger.error({ err: e }, 'cannot start');
      process.stderr.write(`herald: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      return;
    }
    const signal = await stopRequested;
    logger.info({ signal }, 'shutting down');
    await server.close();
    process.exitCode = 0;
  });
  return cmd;
}
