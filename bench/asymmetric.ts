import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { call, DEFAULT_PREWARM_SECONDS, type LoadResult, measure, warmUp } from './load.js';
import { writeResults } from './report.js';
import { startTrent, type Target } from './servers.js';
import { Signer } from './signer.js';

/**
 * `npm run bench -- --asymmetric`: the costly asymmetric operations, and what they do to the
 * requests beside them. Each runs alone at concurrency 16, then at concurrency 2 beside Encrypt
 * 1 KiB at concurrency 8, against Encrypt alone. Work done on the event loop shows twice: the
 * operation uses one core whatever the concurrency, and every Encrypt beside it waits for it.
 *
 *   --duration N   seconds per measurement (default 4), after --warmup N (default 1)
 *   --prewarm N    seconds of Encrypt before the first measurement (default 10; see load.ts)
 */
interface Heavy {
  label: string;
  keySpec: string;
  keyUsage: 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT';
  /** The request body, given the key (Decrypt encrypts its ciphertext first). */
  body(target: Target, keyId: string): Promise<string>;
  operation: 'Sign' | 'Decrypt';
}

const sign =
  (algorithm: string, messageType: 'RAW' | 'DIGEST') =>
  async (_target: Target, keyId: string): Promise<string> => {
    const message = messageType === 'RAW' ? Buffer.from('a message') : createHash('sha256').update('m').digest();
    return JSON.stringify({
      KeyId: keyId,
      Message: message.toString('base64'),
      MessageType: messageType,
      SigningAlgorithm: algorithm,
    });
  };

const HEAVY: Heavy[] = [
  {
    label: 'Sign RSA-4096 RAW',
    keySpec: 'RSA_4096',
    keyUsage: 'SIGN_VERIFY',
    operation: 'Sign',
    body: sign('RSASSA_PSS_SHA_256', 'RAW'),
  },
  {
    label: 'Sign P-256 DIGEST',
    keySpec: 'ECC_NIST_P256',
    keyUsage: 'SIGN_VERIFY',
    operation: 'Sign',
    body: sign('ECDSA_SHA_256', 'DIGEST'),
  },
  {
    label: 'Sign ML-DSA-65',
    keySpec: 'ML_DSA_65',
    keyUsage: 'SIGN_VERIFY',
    operation: 'Sign',
    body: sign('ML_DSA_SHAKE_256', 'RAW'),
  },
  {
    label: 'Decrypt RSA-2048 OAEP',
    keySpec: 'RSA_2048',
    keyUsage: 'ENCRYPT_DECRYPT',
    operation: 'Decrypt',
    body: async (target, keyId) => {
      const algorithm = 'RSAES_OAEP_SHA_256';
      const plaintext = randomBytes(32).toString('base64');
      const out = (await call(target, 'Encrypt', {
        KeyId: keyId,
        Plaintext: plaintext,
        EncryptionAlgorithm: algorithm,
      })) as {
        CiphertextBlob: string;
      };
      return JSON.stringify({ KeyId: keyId, CiphertextBlob: out.CiphertextBlob, EncryptionAlgorithm: algorithm });
    },
  },
];

export async function runAsymmetric(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv.filter((a) => a !== '--asymmetric'),
    options: {
      duration: { type: 'string', default: '4' },
      warmup: { type: 'string', default: '1' },
      prewarm: { type: 'string', default: String(DEFAULT_PREWARM_SECONDS) },
    },
  });
  const durationMs = Number(values.duration) * 1000;
  const warmupMs = Number(values.warmup) * 1000;
  if (!(durationMs > 0) || !(warmupMs >= 0)) throw new Error('--duration and --warmup take seconds');
  const startedAt = new Date();
  const trent = await startTrent([], 1);
  try {
    const signer = new Signer(trent);
    const load = async (operation: string, body: string, concurrency: number) => {
      const result = await measure({ target: trent, signer, operation, body, concurrency, warmupMs, durationMs });
      if (result.errors > 0)
        throw new Error(`${operation}: ${result.errors} requests failed: ${result.errorSamples[0]}`);
      return result;
    };
    const symmetric = (await call(trent, 'CreateKey', {})) as { KeyMetadata: { KeyId: string } };
    const encrypt = JSON.stringify({
      KeyId: symmetric.KeyMetadata.KeyId,
      Plaintext: randomBytes(1024).toString('base64'),
    });
    await warmUp(trent, [{ signer, operation: 'Encrypt', body: encrypt }], Number(values.prewarm) * 1000);
    const alone = await load('Encrypt', encrypt, 8);
    const rows: { label: string; alone: LoadResult; beside: LoadResult; encrypt: LoadResult }[] = [];
    for (const heavy of HEAVY) {
      const created = (await call(trent, 'CreateKey', { KeySpec: heavy.keySpec, KeyUsage: heavy.keyUsage })) as {
        KeyMetadata: { KeyId: string };
      };
      const body = await heavy.body(trent, created.KeyMetadata.KeyId);
      const heavyAlone = await load(heavy.operation, body, 16);
      const [encryptBeside, heavyBeside] = await Promise.all([
        load('Encrypt', encrypt, 8),
        load(heavy.operation, body, 2),
      ]);
      rows.push({ label: heavy.label, alone: heavyAlone, beside: heavyBeside, encrypt: encryptBeside });
    }

    const cpu = (r: LoadResult) => `${Math.round(((r.serverCpuMs ?? 0) / r.elapsedMs) * 100)}%`;
    const figures = (r: LoadResult) =>
      `${String(Math.round(r.requestsPerSecond)).padStart(6)} ${r.p50Ms.toFixed(2).padStart(6)} ${r.p99Ms.toFixed(2).padStart(6)}`;
    console.log(`
Encrypt 1 KiB c8 alone: ${figures(alone)} (req/s, p50 ms, p99 ms)

operation               alone c16: r/s p50 ms p99 ms  srv CPU | beside Encrypt c8: r/s | Encrypt c8: r/s p50 ms p99 ms
${rows
  .map(
    (r) =>
      `${r.label.padEnd(24)}          ${figures(r.alone)} ${cpu(r.alone).padStart(8)} | ${String(Math.round(r.beside.requestsPerSecond)).padStart(22)} |            ${figures(r.encrypt)}`,
  )
  .join('\n')}`);
    const path = writeResults(join(process.cwd(), 'bench', 'results'), startedAt, {
      kind: 'asymmetric',
      startedAt: startedAt.toISOString(),
      encryptAlone: alone,
      rows,
    });
    console.log(`results: ${path}`);
    return 0;
  } finally {
    await trent.stop();
  }
}
