import { deleteDueKeys } from '../keys/delete-due-keys.js';
import { expireImportedMaterial } from '../keys/imported-material.js';
import { rotateDueKeys } from '../keys/rotation.js';
import type { LifecycleJob } from './lifecycle-scheduler.js';

/** The lifecycle scheduler's jobs, in the order each run does them. */
export const LIFECYCLE_JOBS: readonly LifecycleJob[] = [
  {
    eventName: 'DeleteKey',
    message: 'key deleted at the end of its waiting period',
    run: (keys, now) => deleteDueKeys(keys, now()),
  },
  { eventName: 'RotateKey', message: 'key rotated automatically', run: (keys, now) => rotateDueKeys(keys, now) },
  {
    eventName: 'DeleteExpiredKeyMaterial',
    message: 'imported key material expired and was deleted',
    run: (keys, now) => expireImportedMaterial(keys, now),
  },
];
