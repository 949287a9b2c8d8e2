import { randomBytes } from 'node:crypto';
import { KMSInvalidStateException } from '../errors.js';
import type { KeyMaterialRecord, KeyRecord } from '../storage/records.js';
import type { KeyRepository, MaterialChanges } from './key-repository.js';
import { newMaterialId } from './key-repository.js';

/**
 * Key rotation (reference §4.8): a rotation adds a version of material and makes it current; older
 * versions are kept, never rewritten, so every ciphertext ever made still decrypts. Functions
 * here are pure over records, except `rotateKey`, which persists one rotation atomically.
 */
export const DAY_MS = 86_400_000;
export const ROTATION_PERIOD_DAYS = { min: 90, max: 2560, default: 365 } as const;
/** AWS's quota of RotateKeyOnDemand calls per key (current model; 10 at launch in 2024). */
export const MAX_ON_DEMAND_ROTATIONS = 25;
/** RotateKeyOnDemand answers ConflictException this close to a scheduled rotation. */
export const ROTATION_CONFLICT_WINDOW_MS = 20 * 60_000;

export type RotationType = 'AUTOMATIC' | 'ON_DEMAND';

/** The versions of a key's material, oldest first (records older than rotation have one). */
export function materialsOf(key: KeyRecord): KeyMaterialRecord[] {
  if (key.materials !== undefined) return key.materials;
  return key.currentMaterialId === undefined ? [] : [{ materialId: key.currentMaterialId }];
}

/** KeyRotationEnabled as GetKeyRotationStatus reports it: false while pending deletion. */
export function reportsRotationEnabled(key: KeyRecord): boolean {
  return (
    key.rotationEnabled === true && key.keyState !== 'PendingDeletion' && key.keyState !== 'PendingReplicaDeletion'
  );
}

/**
 * The record after a rotation at `now`: the new version (generated, or — for imported keys — the
 * material pending rotation) becomes current. An automatic rotation also sets the next date.
 */
export function rotatedRecord(key: KeyRecord, materialId: string, type: RotationType, now: number): KeyRecord {
  const versions = materialsOf(key).filter((m) => m.materialId !== materialId);
  const pending = materialsOf(key).find((m) => m.materialId === materialId);
  const { pendingRotation: _p, ...rest } = pending ?? { materialId };
  const rotated: KeyMaterialRecord = { ...rest, rotationDate: now, rotationType: type };
  const next: KeyRecord = { ...key, currentMaterialId: materialId, materials: [...versions, rotated] };
  if (type === 'ON_DEMAND') next.onDemandRotations = (key.onDemandRotations ?? 0) + 1;
  if (type === 'AUTOMATIC' && key.rotationEnabled === true) {
    next.nextRotationDate = now + (key.rotationPeriodInDays ?? ROTATION_PERIOD_DAYS.default) * DAY_MS;
  }
  return next;
}

/**
 * Rotates a key now, persisting the new record and its new backing key in one transaction.
 * `check` runs on the freshest record first (state rules, limits) and may throw. Keys with
 * generated material get fresh random material; keys with imported material switch to the
 * version imported as new material (KMSInvalidStateException if there is none).
 */
export async function rotateKey(
  keys: KeyRepository,
  arn: string,
  type: RotationType,
  now: () => number,
  check: (key: KeyRecord) => void = () => {},
): Promise<KeyRecord> {
  return keys.updateWithMaterial(arn, (current) => {
    check(current);
    if (current.origin === 'EXTERNAL') {
      const pending = materialsOf(current).find((m) => m.pendingRotation === true);
      if (pending === undefined) {
        throw new KMSInvalidStateException(`No available key material pending rotation for the key: ${current.arn}.`);
      }
      return { key: rotatedRecord(current, pending.materialId, type, now()) };
    }
    const materialId = newMaterialId();
    const materials: MaterialChanges = { insert: [{ materialId, material: randomBytes(32) }] };
    return { key: rotatedRecord(current, materialId, type, now()), materials };
  });
}

/**
 * The rotation scheduler's work: every Enabled key whose next rotation date has come is rotated
 * (AUTOMATIC). Disabled keys are not listed; once enabled again, a key past its date rotates at
 * the next run, as AWS does.
 */
export async function rotateDueKeys(keys: KeyRepository, now: () => number, batch = 100): Promise<KeyRecord[]> {
  const rotated: KeyRecord[] = [];
  for (;;) {
    const due = await keys.dueForRotation(now(), batch);
    let progressed = 0;
    for (const key of due) {
      let stillDue = false;
      const next = await rotateKey(keys, key.arn, 'AUTOMATIC', now, (current) => {
        stillDue =
          current.keyState === 'Enabled' &&
          current.rotationEnabled === true &&
          current.nextRotationDate !== undefined &&
          current.nextRotationDate <= now();
        if (!stillDue) throw new NotDue();
      }).catch((err: unknown) => {
        if (err instanceof NotDue) return undefined;
        throw err;
      });
      if (next !== undefined && stillDue) {
        rotated.push(next);
        progressed++;
      }
    }
    if (due.length < batch || progressed === 0) return rotated;
  }
}

class NotDue extends Error {}
