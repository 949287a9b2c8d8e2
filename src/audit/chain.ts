import { createHash } from 'node:crypto';
import type { Linker } from '../storage/audit-log.js';

/**
 * The hash chain (docs/audit.md): hash(n) = SHA-256(prevHash(n) as 32 raw bytes ‖ UTF-8 canonical
 * text of record n), hex. The first record's prevHash is 64 zeros (GENESIS_HASH).
 */
export const linkRecord: Linker = (previousHash, recordText) =>
  createHash('sha256').update(Buffer.from(previousHash, 'hex')).update(recordText, 'utf8').digest('hex');
