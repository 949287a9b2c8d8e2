import { readFileSync, type Stats, unwatchFile, watchFile } from 'node:fs';
import type { Logger } from 'pino';
import { compileVpcEndpoints, type VpcEndpoint } from '../policy/vpc-endpoint.js';
import { parseIdentitiesFile } from './identities-file.js';

/**
 * The VPC endpoints the identities file declares (its `vpcEndpoints` section), held in memory: the
 * file is their only source, so each server process reads it at start and again when it changes
 * (polled as watchIdentitiesFile does). A file that does not parse or validate at start stops the
 * server; later, it is logged and the endpoints read last stay.
 */
export class VpcEndpointsFile {
  private endpoints: ReadonlyMap<string, VpcEndpoint>;
  private listener: ((curr: Stats, prev: Stats) => void) | undefined;

  constructor(
    private readonly path: string,
    private readonly logger: Logger,
  ) {
    this.endpoints = readEndpoints(path);
  }

  get current(): ReadonlyMap<string, VpcEndpoint> {
    return this.endpoints;
  }

  watch(intervalMs = 1000): void {
    this.listener = (curr, prev) => {
      if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
      try {
        this.endpoints = readEndpoints(this.path);
        this.logger.info({ path: this.path, vpcEndpoints: [...this.endpoints.keys()] }, 'VPC endpoints reloaded');
      } catch (err) {
        this.logger.error(
          { path: this.path, err: (err as Error).message },
          'VPC endpoints not reloaded: keeping the ones read last',
        );
      }
    };
    watchFile(this.path, { interval: intervalMs, persistent: false }, this.listener);
  }

  close(): void {
    if (this.listener !== undefined) unwatchFile(this.path, this.listener);
    this.listener = undefined;
  }
}

function readEndpoints(path: string): ReadonlyMap<string, VpcEndpoint> {
  try {
    return compileVpcEndpoints(parseIdentitiesFile(readFileSync(path, 'utf8')).vpcEndpoints);
  } catch (err) {
    throw new Error(`Identities file ${path}: ${(err as Error).message}`);
  }
}
