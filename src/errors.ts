/**
 * The error catalogue: one class per AWS error code. The class name is the wire `__type`.
 *
 * Real AWS KMS answers every client error with HTTP 400 — NotFound, Disabled, KMSInvalidState and
 * DryRunOperation included, whatever the Smithy `httpError` traits say (reference, Appendix A). Only
 * internal and dependency failures are 5xx. The status of every code lives in `STATUS` below, and
 * the compiler rejects a code that has none.
 *
 * `message` is what the client sees, in AWS's words. `detail` is our own context: it reaches logs and
 * audit records, never the client.
 */

const STATUS = {
  // Modeled KMS exceptions (reference §1.3.2).
  AlreadyExistsException: 400,
  CloudHsmClusterInUseException: 400,
  CloudHsmClusterInvalidConfigurationException: 400,
  CloudHsmClusterNotActiveException: 400,
  CloudHsmClusterNotFoundException: 400,
  CloudHsmClusterNotRelatedException: 400,
  ConflictException: 400,
  CustomKeyStoreHasCMKsException: 400,
  CustomKeyStoreInvalidStateException: 400,
  CustomKeyStoreNameInUseException: 400,
  CustomKeyStoreNotFoundException: 400,
  DependencyTimeoutException: 503,
  DisabledException: 400,
  DryRunOperationException: 400,
  ExpiredImportTokenException: 400,
  IncorrectKeyException: 400,
  IncorrectKeyMaterialException: 400,
  IncorrectTrustAnchorException: 400,
  InvalidAliasNameException: 400,
  InvalidArnException: 400,
  InvalidCiphertextException: 400,
  InvalidGrantIdException: 400,
  InvalidGrantTokenException: 400,
  InvalidImportTokenException: 400,
  InvalidKeyUsageException: 400,
  InvalidMarkerException: 400,
  KMSInternalException: 500,
  KMSInvalidMacException: 400,
  KMSInvalidSignatureException: 400,
  KMSInvalidStateException: 400,
  KeyUnavailableException: 500,
  LimitExceededException: 400,
  MalformedPolicyDocumentException: 400,
  NotFoundException: 400,
  TagException: 400,
  UnsupportedOperationException: 400,
  XksKeyAlreadyInUseException: 400,
  XksKeyInvalidConfigurationException: 400,
  XksKeyNotFoundException: 400,
  XksProxyIncorrectAuthenticationCredentialException: 400,
  XksProxyInvalidConfigurationException: 400,
  XksProxyInvalidResponseException: 400,
  XksProxyUriEndpointInUseException: 400,
  XksProxyUriInUseException: 400,
  XksProxyUriUnreachableException: 400,
  XksProxyVpcEndpointServiceInUseException: 400,
  XksProxyVpcEndpointServiceInvalidConfigurationException: 400,
  XksProxyVpcEndpointServiceNotFoundException: 400,
  // Unmodeled errors every AWS JSON service sends (reference §1.3.3).
  AccessDeniedException: 400,
  ValidationException: 400,
  SerializationException: 400,
  UnknownOperationException: 400,
  ThrottlingException: 400,
  UnrecognizedClientException: 400,
  InvalidSignatureException: 400,
  IncompleteSignatureException: 400,
  MissingAuthenticationTokenException: 400,
  ExpiredTokenException: 400,
  // Trent's own: a request body over the cap is refused before it is read.
  RequestEntityTooLargeException: 413,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof STATUS;

export const ERROR_CODES = Object.keys(STATUS) as ErrorCode[];

export function httpStatusOf(code: ErrorCode): number {
  return STATUS[code];
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(STATUS, value);
}

export abstract class KmsError extends Error {
  abstract readonly code: ErrorCode;
  /** Private context for logs and audit; never serialized to the client. */
  readonly detail: string | undefined;

  constructor(message = '', detail?: string) {
    super(message);
    this.detail = detail;
  }

  get status(): number {
    return STATUS[this.code];
  }
}

export class AlreadyExistsException extends KmsError {
  readonly code = 'AlreadyExistsException';
}
export class CloudHsmClusterInUseException extends KmsError {
  readonly code = 'CloudHsmClusterInUseException';
}
export class CloudHsmClusterInvalidConfigurationException extends KmsError {
  readonly code = 'CloudHsmClusterInvalidConfigurationException';
}
export class CloudHsmClusterNotActiveException extends KmsError {
  readonly code = 'CloudHsmClusterNotActiveException';
}
export class CloudHsmClusterNotFoundException extends KmsError {
  readonly code = 'CloudHsmClusterNotFoundException';
}
export class CloudHsmClusterNotRelatedException extends KmsError {
  readonly code = 'CloudHsmClusterNotRelatedException';
}
export class ConflictException extends KmsError {
  readonly code = 'ConflictException';
}
export class CustomKeyStoreHasCMKsException extends KmsError {
  readonly code = 'CustomKeyStoreHasCMKsException';
}
export class CustomKeyStoreInvalidStateException extends KmsError {
  readonly code = 'CustomKeyStoreInvalidStateException';
}
export class CustomKeyStoreNameInUseException extends KmsError {
  readonly code = 'CustomKeyStoreNameInUseException';
}
export class CustomKeyStoreNotFoundException extends KmsError {
  readonly code = 'CustomKeyStoreNotFoundException';
}
export class DependencyTimeoutException extends KmsError {
  readonly code = 'DependencyTimeoutException';
}
export class DisabledException extends KmsError {
  readonly code = 'DisabledException';
}
export class DryRunOperationException extends KmsError {
  readonly code = 'DryRunOperationException';
  constructor() {
    super('The request would have succeeded, but the DryRun option is set.');
  }
}
export class ExpiredImportTokenException extends KmsError {
  readonly code = 'ExpiredImportTokenException';
}
export class IncorrectKeyException extends KmsError {
  readonly code = 'IncorrectKeyException';
}
export class IncorrectKeyMaterialException extends KmsError {
  readonly code = 'IncorrectKeyMaterialException';
}
export class IncorrectTrustAnchorException extends KmsError {
  readonly code = 'IncorrectTrustAnchorException';
}
export class InvalidAliasNameException extends KmsError {
  readonly code = 'InvalidAliasNameException';
}
export class InvalidArnException extends KmsError {
  readonly code = 'InvalidArnException';
}
export class InvalidCiphertextException extends KmsError {
  readonly code = 'InvalidCiphertextException';
}
export class InvalidGrantIdException extends KmsError {
  readonly code = 'InvalidGrantIdException';
}
export class InvalidGrantTokenException extends KmsError {
  readonly code = 'InvalidGrantTokenException';
}
export class InvalidImportTokenException extends KmsError {
  readonly code = 'InvalidImportTokenException';
}
export class InvalidKeyUsageException extends KmsError {
  readonly code = 'InvalidKeyUsageException';
}
export class InvalidMarkerException extends KmsError {
  readonly code = 'InvalidMarkerException';
}
export class KMSInternalException extends KmsError {
  readonly code = 'KMSInternalException';
}
export class KMSInvalidMacException extends KmsError {
  readonly code = 'KMSInvalidMacException';
}
export class KMSInvalidSignatureException extends KmsError {
  readonly code = 'KMSInvalidSignatureException';
}
export class KMSInvalidStateException extends KmsError {
  readonly code = 'KMSInvalidStateException';
}
export class KeyUnavailableException extends KmsError {
  readonly code = 'KeyUnavailableException';
}
export class LimitExceededException extends KmsError {
  readonly code = 'LimitExceededException';
}
export class MalformedPolicyDocumentException extends KmsError {
  readonly code = 'MalformedPolicyDocumentException';
}
export class NotFoundException extends KmsError {
  readonly code = 'NotFoundException';
}
export class TagException extends KmsError {
  readonly code = 'TagException';
}
export class UnsupportedOperationException extends KmsError {
  readonly code = 'UnsupportedOperationException';
}
export class XksKeyAlreadyInUseException extends KmsError {
  readonly code = 'XksKeyAlreadyInUseException';
}
export class XksKeyInvalidConfigurationException extends KmsError {
  readonly code = 'XksKeyInvalidConfigurationException';
}
export class XksKeyNotFoundException extends KmsError {
  readonly code = 'XksKeyNotFoundException';
}
export class XksProxyIncorrectAuthenticationCredentialException extends KmsError {
  readonly code = 'XksProxyIncorrectAuthenticationCredentialException';
}
export class XksProxyInvalidConfigurationException extends KmsError {
  readonly code = 'XksProxyInvalidConfigurationException';
}
export class XksProxyInvalidResponseException extends KmsError {
  readonly code = 'XksProxyInvalidResponseException';
}
export class XksProxyUriEndpointInUseException extends KmsError {
  readonly code = 'XksProxyUriEndpointInUseException';
}
export class XksProxyUriInUseException extends KmsError {
  readonly code = 'XksProxyUriInUseException';
}
export class XksProxyUriUnreachableException extends KmsError {
  readonly code = 'XksProxyUriUnreachableException';
}
export class XksProxyVpcEndpointServiceInUseException extends KmsError {
  readonly code = 'XksProxyVpcEndpointServiceInUseException';
}
export class XksProxyVpcEndpointServiceInvalidConfigurationException extends KmsError {
  readonly code = 'XksProxyVpcEndpointServiceInvalidConfigurationException';
}
export class XksProxyVpcEndpointServiceNotFoundException extends KmsError {
  readonly code = 'XksProxyVpcEndpointServiceNotFoundException';
}
export class AccessDeniedException extends KmsError {
  readonly code = 'AccessDeniedException';
}
export class ValidationException extends KmsError {
  readonly code = 'ValidationException';
}
export class SerializationException extends KmsError {
  readonly code = 'SerializationException';
}
export class UnknownOperationException extends KmsError {
  readonly code = 'UnknownOperationException';
}
export class ThrottlingException extends KmsError {
  readonly code = 'ThrottlingException';
}
export class UnrecognizedClientException extends KmsError {
  readonly code = 'UnrecognizedClientException';
  constructor(detail?: string) {
    super('The security token included in the request is invalid.', detail);
  }
}
export class InvalidSignatureException extends KmsError {
  readonly code = 'InvalidSignatureException';
}
export class IncompleteSignatureException extends KmsError {
  readonly code = 'IncompleteSignatureException';
}
export class MissingAuthenticationTokenException extends KmsError {
  readonly code = 'MissingAuthenticationTokenException';
  constructor() {
    super('Missing Authentication Token');
  }
}
export class ExpiredTokenException extends KmsError {
  readonly code = 'ExpiredTokenException';
  constructor() {
    super('The security token included in the request is expired');
  }
}
export class RequestEntityTooLargeException extends KmsError {
  readonly code = 'RequestEntityTooLargeException';
}

/** Wraps anything that is not a KmsError: the client learns nothing of it. */
export function toKmsError(err: unknown): KmsError {
  if (err instanceof KmsError) return err;
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return new KMSInternalException('An internal error occurred. Try again later.', detail);
}
