/**
 * How driftplane reaches Temporal, in one place for the worker, the CLI and `serve`
 * (docs/temporal.md). The settings come from a `@temporalio/envconfig` profile: a TOML file
 * (TEMPORAL_CONFIG_FILE, default `~/.config/temporalio/temporal.toml`, the file the `temporal` CLI
 * writes) and the profile in it (TEMPORAL_PROFILE, or `--profile`; default `default`), overridden by
 * the TEMPORAL_* variables envconfig defines (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
 * TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH, …). TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE are the
 * variables driftplane always read, so an installation that set only those connects as before.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client, Connection, ConnectionOptions } from '@temporalio/client';
import {
  loadClientConfigProfile,
  toClientOptions,
  type ClientConfigProfile,
  type ConfigDataSource,
} from '@temporalio/envconfig';
import type { NativeConnection, NativeConnectionOptions } from '@temporalio/worker';
import { InputError, ToolError } from '../domain/errors';

/** Where Temporal is when nothing says otherwise: a local dev server (`driftplane dev`). */
export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';
/** The namespace when nothing says otherwise. */
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';

/** The options both connection kinds take: envconfig's, with the address always set. */
export type TemporalConnectOptions = Pick<NativeConnectionOptions, 'tls' | 'apiKey' | 'metadata'> & {
  address: string;
};

/**
 * Resolved connection settings. Nothing secret is a plain field (the API key, a client key given
 * inline): they stay in {@link connectOptions}, so printing a config shows none of them.
 */
export interface TemporalConnection {
  address: string;
  namespace: string;
  /** The profile asked for (TEMPORAL_PROFILE or `--profile`), when one was. */
  profile?: string;
  /** The envconfig TOML file that was read, when one exists. */
  configFile?: string;
  /** How the connection is secured: `off`, `tls` (server verified against the system's roots or the profile's CA), `mtls` (with a client certificate). */
  security: 'off' | 'tls' | 'mtls';
  /** Whether an API key is sent (Temporal Cloud); never the key. */
  apiKey: boolean;
  /** One line for errors and logs: the address, namespace, profile and file, and TLS files by path. No secret. */
  describe: string;
  /** The options for `Connection.connect` / `NativeConnection.connect`; certificate files are read now (so a rotated file is picked up at the next connect). */
  connectOptions(): TemporalConnectOptions;
}

/** envconfig's default file, as it finds it (Linux and macOS), for saying which file was read. */
function defaultConfigFile(env: Record<string, string>): string | undefined {
  if (os.platform() === 'darwin')
    return env.HOME
      ? path.join(env.HOME, 'Library', 'Application Support', 'temporalio', 'temporal.toml')
      : undefined;
  if (os.platform() === 'win32')
    return env.APPDATA ? path.join(env.APPDATA, 'temporalio', 'temporal.toml') : undefined;
  const base =
    env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME)
      ? env.XDG_CONFIG_HOME
      : env.HOME
        ? path.join(env.HOME, '.config')
        : undefined;
  return base ? path.join(base, 'temporalio', 'temporal.toml') : undefined;
}

const sourceOf = (s: ConfigDataSource | undefined): string | undefined =>
  s === undefined ? undefined : 'path' in s ? s.path : 'inline data';

/**
 * Resolves the Temporal connection from an environment: the envconfig profile, then the TEMPORAL_*
 * variables over it, then driftplane's defaults (localhost:7233, namespace `default`). A missing
 * TEMPORAL_CONFIG_FILE, an unknown profile, a file that is not TOML or a profile naming both a path
 * and inline data are InputErrors naming the file and the profile.
 */
export function loadTemporalConnection(env: NodeJS.ProcessEnv = process.env): TemporalConnection {
  // Empty values count as unset, as everywhere in loadConfig.
  const vars = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''),
  );
  const profileName = vars.TEMPORAL_PROFILE;
  const explicitFile = vars.TEMPORAL_CONFIG_FILE;
  if (explicitFile && !existsSync(explicitFile)) {
    throw new InputError(`TEMPORAL_CONFIG_FILE=${explicitFile} does not exist`, {
      file: 'environment',
      field: 'TEMPORAL_CONFIG_FILE',
    });
  }
  const file = explicitFile ?? defaultConfigFile(vars);
  const configFile = file && existsSync(file) ? path.resolve(file) : undefined;
  const where = `${profileName ? `profile "${profileName}"` : 'the default profile'} of ${configFile ?? 'no config file'}`;
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({
      ...(profileName ? { profile: profileName } : {}),
      overrideEnvVars: vars,
    });
  } catch (err) {
    const e = err as Error & { line?: number; column?: number };
    if (/Profile '.*' not found/.test(e.message)) {
      throw new InputError(
        configFile
          ? `no [profile.${profileName}] in ${configFile} (from TEMPORAL_PROFILE or --profile)`
          : `profile "${profileName}" asked for (TEMPORAL_PROFILE or --profile) but there is no config file: set TEMPORAL_CONFIG_FILE`,
        { ...(configFile ? { file: configFile } : { file: 'environment' }), field: `profile.${profileName}` },
      );
    }
    if (typeof e.line === 'number')
      throw new InputError(`not a valid envconfig TOML file: ${e.message.split('\n')[0]}`, {
        file: configFile ?? file ?? 'TEMPORAL_CONFIG_FILE',
        line: e.line,
        ...(typeof e.column === 'number' ? { column: e.column } : {}),
      });
    throw new InputError(`${where}: ${e.message}`, { file: configFile ?? 'environment' });
  }
  const address = profile.address ?? DEFAULT_TEMPORAL_ADDRESS;
  const namespace = profile.namespace ?? DEFAULT_TEMPORAL_NAMESPACE;
  const tls = profile.tls;
  const tlsOn = tls ? tls.disabled !== true : profile.apiKey !== undefined;
  const mtls = tlsOn && tls?.clientCert !== undefined;
  const security = !tlsOn ? 'off' : mtls ? 'mtls' : 'tls';
  const tlsParts = tlsOn
    ? [
        `TLS (CA ${sourceOf(tls?.serverCACert) ?? 'system roots'}`,
        ...(tls?.clientCert ? [`client certificate ${sourceOf(tls.clientCert)}`] : []),
        ...(tls?.serverName ? [`server name ${tls.serverName}`] : []),
      ].join(', ') + ')'
    : 'no TLS';
  const describe = `${address} (namespace ${namespace}; ${profileName || configFile ? `${where}; ` : ''}${tlsParts}${profile.apiKey !== undefined ? '; API key' : ''})`;
  return {
    address,
    namespace,
    ...(profileName ? { profile: profileName } : {}),
    ...(configFile ? { configFile } : {}),
    security,
    apiKey: profile.apiKey !== undefined,
    describe,
    connectOptions() {
      let options: ReturnType<typeof toClientOptions>['connectionOptions'];
      try {
        options = toClientOptions(profile).connectionOptions;
      } catch (err) {
        // A certificate or key file the profile names cannot be read: say which, never its content.
        throw new InputError(`${where}: cannot read a TLS file it names: ${(err as Error).message}`, {
          file: configFile ?? 'environment',
        });
      }
      return {
        address,
        ...(options.tls !== undefined ? { tls: options.tls } : {}),
        ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
        ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
      };
    },
  };
}

/** Overrides of the address and namespace (the CLI's arguments), keeping the profile's TLS and API key. */
export function withTarget(
  conn: TemporalConnection,
  target: { address?: string; namespace?: string },
): TemporalConnection {
  if (
    (!target.address || target.address === conn.address) &&
    (!target.namespace || target.namespace === conn.namespace)
  )
    return conn;
  const address = target.address ?? conn.address;
  const namespace = target.namespace ?? conn.namespace;
  return {
    ...conn,
    address,
    namespace,
    describe: conn.describe.replace(
      `${conn.address} (namespace ${conn.namespace}`,
      `${address} (namespace ${namespace}`,
    ),
    connectOptions: () => ({ ...conn.connectOptions(), address }),
  };
}

/** The hint that goes with a connection that failed: what to check, by how it was configured. */
function hintFor(conn: TemporalConnection): string {
  if (conn.security === 'off')
    return 'start one with `driftplane dev` (or `npm run dev`), or set TEMPORAL_ADDRESS (or a profile: TEMPORAL_PROFILE / --profile) to a running server';
  return 'check the profile: the server CA (tls.server_ca_cert_path; unset means the system roots), the client certificate and key, tls.server_name, the API key, and that the address is the TLS endpoint';
}

/** Wraps a failed connect as a ToolError (exit 3) naming the address, the profile and its TLS files. */
function unreachable(conn: TemporalConnection, err: unknown): ToolError {
  return new ToolError(`cannot reach Temporal at ${conn.describe}: ${(err as Error).message}`, hintFor(conn));
}

/** A client connection (`@temporalio/client`) with the resolved settings; a failure names the address and profile. */
export async function connectTemporalClient(
  conn: TemporalConnection,
  opts: Pick<ConnectionOptions, 'connectTimeout'> = {},
): Promise<Connection> {
  const options = conn.connectOptions();
  // Loaded here, not at the top: loadConfig (every CLI command) imports this file for loadTemporalConnection.
  const { Connection } = await import('@temporalio/client');
  try {
    return await Connection.connect({ ...options, ...opts });
  } catch (err) {
    throw unreachable(conn, err);
  }
}

/** A connected `Client` on the resolved namespace, and its connection (the caller closes it). */
export async function connectTemporal(
  conn: TemporalConnection,
  opts: Pick<ConnectionOptions, 'connectTimeout'> = { connectTimeout: '5s' },
): Promise<{ client: Client; connection: Connection }> {
  const connection = await connectTemporalClient(conn, opts);
  const { Client } = await import('@temporalio/client');
  return { client: new Client({ connection, namespace: conn.namespace }), connection };
}

/** A worker connection (`NativeConnection`, Rust core) with the resolved settings; a failure names the address and profile. */
export async function connectTemporalWorker(conn: TemporalConnection): Promise<NativeConnection> {
  const options = conn.connectOptions();
  const { NativeConnection } = await import('@temporalio/worker');
  try {
    return await NativeConnection.connect(options);
  } catch (err) {
    throw unreachable(conn, err);
  }
}
