/**
 * `herald serve --config FILE` and `--print-config`: the same settings as the flags, from a YAML
 * (or JSON, which is YAML) file whose keys are the flags without their dashes (`merge-window-ms: 5`;
 * a list as a YAML list or a comma-separated string). Precedence: flags, then environment variables,
 * then the file, then the defaults. Every value goes through the flag's own parser, so a bad value
 * is refused with the same words, naming the file and the key.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { parse as parseYaml, stringify as yamlValue } from 'yaml';
import { DEFAULT_REGISTRY_OPTIONS, resolveRegistryOptions, type RegistryOptions } from '../core/options.js';
import { attributeName, SERVE_OPTIONS, type ServeOption, type ServeSettings } from './serve-options.js';

/** A config file that cannot be used, with a message that names it. */
export class ConfigFileError extends Error {}

/** The flag's name without dashes or its value placeholder: `merge-window-ms`. */
export function fileKey(o: ServeOption): string {
  return (o.flag.split(' ')[0] ?? '').replace(/^--/, '');
}

/** Settings that are secrets: --print-config says whether they are set, never their value. */
const SECRETS: ReadonlySet<string> = new Set(['cluster-secret', 'auth-token-key']);

function text(value: unknown, path: string, key: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) return value.map(String).join(',');
  throw new ConfigFileError(`${path}: ${key}: must be a string, a number, a boolean or a list of them`);
}

/**
 * Reads the file and parses each setting with its flag's parser: the values by commander
 * attribute name (as the flags would give them). Throws ConfigFileError naming the file and the key.
 */
export function readConfigFile(path: string): Map<string, unknown> {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (e) {
    const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : '';
    throw new ConfigFileError(`${path}: cannot read the config file${code === 'ENOENT' ? ': no such file' : code === '' ? '' : ` (${code})`}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(raw);
  } catch (e) {
    throw new ConfigFileError(`${path}: not valid YAML or JSON: ${(e instanceof Error ? e.message : String(e)).split('\n')[0] ?? ''}`);
  }
  if (doc === null || doc === undefined) return new Map();
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigFileError(`${path}: must be a mapping of settings (key: value), like the flags of herald serve`);
  const byKey = new Map(SERVE_OPTIONS.map((o) => [fileKey(o), o]));
  const out = new Map<string, unknown>();
  for (const [key, value] of Object.entries(doc)) {
    const o = byKey.get(key);
    if (o === undefined) throw new ConfigFileError(`${path}: unknown setting "${key}" (the keys are herald serve's flags without the dashes, e.g. merge-window-ms)`);
    try {
      out.set(attributeName(o), o.parse(text(value, path, key)));
    } catch (e) {
      if (e instanceof ConfigFileError) throw e;
      throw new ConfigFileError(`${path}: ${key}: ${e instanceof InvalidArgumentError || e instanceof Error ? e.message : String(e)}`);
    }
  }
  return out;
}

/** `parsed` with the file's values for the settings neither a flag nor an environment variable gave; and which those were. */
export function withConfigFile(parsed: Record<string, unknown>, file: Map<string, unknown>): { merged: Record<string, unknown>; fromFile: Set<string> } {
  const merged = { ...parsed };
  const fromFile = new Set<string>();
  for (const [attr, value] of file) {
    if (merged[attr] === undefined) {
      merged[attr] = value;
      fromFile.add(attr);
    }
  }
  return { merged, fromFile };
}

function shown(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))).join(',');
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return value;
}

/**
 * The effective configuration as a config file (loadable with --config), each setting with where
 * it came from: `flag`, `env HERALD_…`, `file <path>` or `default`. Secrets are shown as set or not.
 */
export function printableConfig(settings: ServeSettings, source: (o: ServeOption) => 'flag' | 'env' | 'file' | 'default', configPath: string | undefined): string {
  let registry: RegistryOptions;
  try {
    registry = resolveRegistryOptions(settings.config.registry);
  } catch {
    // Invalid together (the error follows the printout): show the values as given.
    registry = { ...DEFAULT_REGISTRY_OPTIONS, ...settings.config.registry };
  }
  const lines = [`# herald serve: effective configuration (flags > environment > ${configPath === undefined ? 'config file' : configPath} > defaults)`];
  for (const o of SERVE_OPTIONS) {
    const key = fileKey(o);
    const from = source(o);
    const where = from === 'env' ? `env ${o.env}` : from === 'file' ? `file ${configPath ?? ''}` : from;
    const value: unknown =
      o.key === 'logLevel'
        ? settings.logLevel
        : o.key in settings.config
          ? (settings.config as Record<string, unknown>)[o.key]
          : (registry as unknown as Record<string, unknown>)[o.key];
    if (SECRETS.has(key)) {
      lines.push(`# ${key}: ${value === undefined ? '(not set)' : '(set, not shown)'}  # ${where}`);
      continue;
    }
    if (value === undefined || (Array.isArray(value) && value.length === 0)) {
      lines.push(`# ${key}: ${o.defaultText}  # ${where}`);
      continue;
    }
    lines.push(`${key}: ${yamlValue(shown(value)).trimEnd()}  # ${where}`);
  }
  return `${lines.join('\n')}\n`;
}
