/**
 * A small description language for request shapes, mirroring the AWS service model's constraints
 * (length, range, pattern, enum, required). Operations declare their input with it; the wire layer
 * compiles each declaration once at start (see validate.ts).
 */

export interface StringShape {
  type: 'string';
  min?: number;
  max?: number;
  /** Source text of the model's pattern, quoted verbatim in ValidationException messages. */
  pattern?: string;
  enum?: readonly string[];
  sensitive?: boolean;
}
export interface IntegerShape {
  type: 'integer';
  min?: number;
  max?: number;
}
export interface BooleanShape {
  type: 'boolean';
}
export interface BlobShape {
  type: 'blob';
  min?: number;
  max?: number;
  sensitive?: boolean;
}
export interface TimestampShape {
  type: 'timestamp';
}
export interface MapShape {
  type: 'map';
  key: StringShape;
  value: StringShape;
}
export interface ListShape {
  type: 'list';
  member: Shape;
  min?: number;
  max?: number;
}
export interface StructureShape {
  type: 'structure';
  members: Record<string, Shape>;
  required?: readonly string[];
}

export type Shape =
  | StringShape
  | IntegerShape
  | BooleanShape
  | BlobShape
  | TimestampShape
  | MapShape
  | ListShape
  | StructureShape;

export const structure = (members: Record<string, Shape>, required: readonly string[] = []): StructureShape => ({
  type: 'structure',
  members,
  required,
});

// Shapes shared by many operations (reference §2.1).
export const KeyIdType: StringShape = { type: 'string', min: 1, max: 2048 };
export const GrantTokenList: ListShape = {
  type: 'list',
  member: { type: 'string', min: 1, max: 8192 },
  min: 0,
  max: 10,
};
export const EncryptionContextType: MapShape = {
  type: 'map',
  key: { type: 'string' },
  value: { type: 'string' },
};
export const PlaintextType: BlobShape = { type: 'blob', min: 1, max: 4096, sensitive: true };
export const CiphertextType: BlobShape = { type: 'blob', min: 1, max: 6144 };
export const NumberOfBytesType: IntegerShape = { type: 'integer', min: 1, max: 1024 };
export const LimitType: IntegerShape = { type: 'integer', min: 1, max: 1000 };
export const MarkerType: StringShape = {
  type: 'string',
  min: 1,
  max: 1024,
  pattern: '[\\u0020-\\u00FF]*',
};
export const BooleanType: BooleanShape = { type: 'boolean' };
export const DescriptionType: StringShape = { type: 'string', min: 0, max: 8192 };
export const AliasNameType: StringShape = {
  type: 'string',
  min: 1,
  max: 256,
  pattern: '^[a-zA-Z0-9:/_-]+$',
};
export const PolicyType: StringShape = {
  type: 'string',
  min: 1,
  max: 131072,
  pattern: '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+',
};
export const TagKeyType: StringShape = { type: 'string', min: 1, max: 128 };
export const TagList: ListShape = {
  type: 'list',
  member: structure({ TagKey: TagKeyType, TagValue: { type: 'string', min: 0, max: 256 } }, ['TagKey', 'TagValue']),
};

export const enumOf = (values: readonly string[]): StringShape => ({ type: 'string', enum: values });

export const ENCRYPTION_ALGORITHMS = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE'] as const;
export const KEY_SPECS = [
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'SYMMETRIC_DEFAULT',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
  'SM2',
  'ML_DSA_44',
  'ML_DSA_65',
  'ML_DSA_87',
  'ECC_NIST_EDWARDS25519',
] as const;
export const CUSTOMER_MASTER_KEY_SPECS = KEY_SPECS.slice(0, 13);
export const KEY_USAGES = ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'] as const;
export const ORIGINS = ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const;
export const DATA_KEY_SPECS = ['AES_256', 'AES_128'] as const;
export const DRY_RUN_MODIFIERS: ListShape = {
  type: 'list',
  member: enumOf(['IGNORE_CIPHERTEXT']),
};
export const RecipientType: StructureShape = structure({
  KeyEncryptionAlgorithm: enumOf(['RSAES_OAEP_SHA_256']),
  AttestationDocument: { type: 'blob', min: 1, max: 262144 },
});
export const SIGNING_ALGORITHM_NAMES = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'ECDSA_SHA_256',
  'ECDSA_SHA_384',
  'ECDSA_SHA_512',
  'SM2DSA',
  'ML_DSA_SHAKE_256',
  'ED25519_SHA_512',
  'ED25519_PH_SHA_512',
] as const;
export const MAC_ALGORITHM_NAMES = ['HMAC_SHA_224', 'HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512'] as const;
export const MESSAGE_TYPES = ['RAW', 'DIGEST', 'EXTERNAL_MU'] as const;
export const KEY_PAIR_SPECS = [
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'SM2',
  'ECC_NIST_EDWARDS25519',
] as const;
/** Message, SharedSecret, PrivateKeyPlaintext: blob 1–4096, sensitive (reference §2.1). */
export const MessageType: BlobShape = { type: 'blob', min: 1, max: 4096, sensitive: true };
/** Signature, Mac, PrivateKeyCiphertextBlob: blob 1–6144. */
export const SignatureType: BlobShape = { type: 'blob', min: 1, max: 6144 };
/** DER SubjectPublicKeyInfo: blob 1–8192. */
export const PublicKeyType: BlobShape = { type: 'blob', min: 1, max: 8192 };
