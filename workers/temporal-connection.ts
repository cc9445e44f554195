/**
 * Connection options for the worker and the gateway: an envconfig profile (TOML file,
 * TEMPORAL_PROFILE) when one is configured, with casework's config on top.
 */
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { Config } from './config.js';

export interface TemporalConnection {
  connectionOptions: { address: string; apiKey?: string; tls?: boolean | object; metadata?: Record<string, string> };
  namespace: string;
}

export async function temporalConnectionOptions(config: Config): Promise<TemporalConnection> {
  const profile = loadClientConnectConfig({ profile: config.temporal.profile });
  const fromProfile = profile.connectionOptions ?? {};
  const tls = config.temporal.tls ? (fromProfile.tls ?? true) : fromProfile.tls;
  return {
    connectionOptions: {
      ...fromProfile,
      address: config.temporal.addressGiven ? config.temporal.address : (fromProfile.address ?? config.temporal.address),
      apiKey: config.temporal.apiKey ?? fromProfile.apiKey,
      tls: tls === null ? undefined : tls,
    } as TemporalConnection['connectionOptions'],
    namespace: config.temporal.namespaceGiven ? config.temporal.namespace : (profile.namespace ?? config.temporal.namespace),
  };
}
