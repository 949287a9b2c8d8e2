import { DryRunOperationException, UnsupportedOperationException } from '../../errors.js';

/**
 * DryRun (reference §4.17): every check has run and passed, so answer that the call would have
 * succeeded, and change nothing.
 */
export function finishDryRun(dryRun: boolean | undefined): void {
  if (dryRun === true) throw new DryRunOperationException();
}

/** Attestation is not supported yet: a Recipient is validated by its shape, then refused. */
export function refuseRecipient(recipient: unknown): void {
  if (recipient !== undefined) {
    throw new UnsupportedOperationException('Trent does not support attested Recipient requests yet.');
  }
}
