import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CreateKeyCommand, DescribeKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import Database from 'better-sqlite3';
import { canonicalJson } from '../../src/audit/canonical.js';
import { linkRecord } from '../../src/audit/chain.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { lookupAll, trent } from '../helpers/trent-cli.js';

/**
 * Tamper evidence, the way an auditor meets it: a stopped server's SQLite file is edited directly
 * (a record altered, removed, inserted, reordered) and `trent audit verify` must exit non-zero and
 * name the right record; the same for an export verified with no store; and pruning by age keeps
 * the remaining chain verifiable.
 */
interface Finding {
  kind: string;
  seq?: number;
  eventId?: string;
  message: string;
}

function verify(args: string[]): { code: number | null; ok: boolean; findings: Finding[] } {
  const r = trent(['audit', 'verify', '--json', ...args]);
  const result = JSON.parse(r.stdout) as { ok: boolean; findings: Finding[] };
  return { code: r.code, ...result };
}

describe('audit tamper evidence', () => {
  let server: TestServer;
  let pristine: string;
  const scratch: string[] = [];

  before(async () => {
    server = await startServer();
    const kms = server.client();
    const key = await kms.send(new CreateKeyCommand({}));
    for (let i = 0; i < 4; i++) {
      await kms.send(new EncryptCommand({ KeyId: key.KeyMetadata?.KeyId, Plaintext: Buffer.from(`m${i}`) }));
    }
    await kms.send(new DescribeKeyCommand({ KeyId: key.KeyMetadata?.KeyId }));
    assert.equal(await server.stop(), 0);
    pristine = server.dataDir;
  });

  after(async () => {
    await server.destroy();
    for (const d of scratch) rmSync(d, { recursive: true, force: true });
  });

  /** A copy of the stopped server's data directory, edited with `edit`. */
  function tampered(edit: (db: Database.Database) => void): string {
    const dir = mkdtempSync(join(tmpdir(), 'trent-tamper-'));
    scratch.push(dir);
    cpSync(pristine, dir, { recursive: true });
    const db = new Database(join(dir, 'trent.db'));
    try {
      edit(db);
    } finally {
      db.close();
    }
    return dir;
  }

  const row = (db: Database.Database, seq: number) =>
    db
      .prepare('SELECT record, prev_hash AS prevHash, hash, event_id AS eventId FROM audit_events WHERE seq = ?')
      .get(seq) as {
      record: string;
      prevHash: string;
      hash: string;
      eventId: string;
    };

  it('verifies the untouched store, signed at shutdown', () => {
    const r = trent(['audit', 'verify', '--data-dir', pristine]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^OK: 6 records and 1 signed digests verified\n$/);
  });

  it('names an altered record', () => {
    const dir = tampered((db) => {
      db.prepare(`UPDATE audit_events SET record = replace(record, '"Encrypt"', '"Decrypt"') WHERE seq = 3`).run();
    });
    const r = verify(['--data-dir', dir]);
    assert.equal(r.code, 1);
    assert.equal(r.findings[0]?.kind, 'altered');
    assert.equal(r.findings[0]?.seq, 3);
  });

  it('names an altered record whose hash was recomputed', () => {
    const dir = tampered((db) => {
      const r3 = row(db, 3);
      const record = r3.record.replace('"Encrypt"', '"Decrypt"');
      db.prepare('UPDATE audit_events SET record = ?, hash = ? WHERE seq = 3').run(
        record,
        linkRecord(r3.prevHash, record),
      );
    });
    const r = verify(['--data-dir', dir]);
    assert.equal(r.code, 1);
    assert.equal(r.findings[0]?.kind, 'altered');
    assert.equal(r.findings[0]?.seq, 3);
  });

  it('names a removed record', () => {
    const dir = tampered((db) => {
      db.prepare('DELETE FROM audit_events WHERE seq = 4').run();
    });
    const r = verify(['--data-dir', dir]);
    assert.equal(r.code, 1);
    assert.equal(r.findings[0]?.kind, 'removed');
    assert.match(r.findings[0]?.message ?? '', /seq 4\.\.4 were removed/);
  });

  it('names records removed from the end', () => {
    const dir = tampered((db) => {
      db.prepare('DELETE FROM audit_events WHERE seq >= 5').run();
    });
    const r = verify(['--data-dir', dir]);
    assert.equal(r.code, 1);
    assert.equal(r.findings[0]?.kind, 'removed');
    assert.equal(r.findings[0]?.seq, 5);
  });

  it('names an inserted record, even one that links correctly to its predecessor', () => {
    let forgedId = '';
    const dir = tampered((db) => {
      const r3 = row(db, 3);
      const forged = JSON.parse(r3.record) as Record<string, unknown>;
      forgedId = '00000000-0000-4000-8000-000000000000';
      forged.eventID = forgedId;
      const text = canonicalJson(forged);
      db.prepare('UPDATE audit_events SET seq = seq + 1000 WHERE seq > 3').run();
      db.prepare('UPDATE audit_events SET seq = seq - 999 WHERE seq > 1000').run();
      db.prepare(
        `INSERT INTO audit_events (seq, event_id, request_id, event_time, event_name, principal, account_id, error_code,
           read_only, key_arns, usage, record, prev_hash, hash)
         SELECT 4, ?, request_id, event_time, event_name, principal, account_id, error_code, read_only, key_arns, usage, ?, ?, ?
         FROM audit_events WHERE seq = 3`,
      ).run(forgedId, text, r3.hash, linkRecord(r3.hash, text));
    });
    const r = verify(['--data-dir', dir]);
    assert.equal(r.code, 1);
    assert.equal(r.findings[0]?.kind, 'inserted');
    assert.equal(r.findings[0]?.seq, 4);
    assert.equal(r.findings[0]?.eventId, forgedId);
  });

  it('names reordered records', () => {
    let movedId = '';
    const dir = tampered((db) => {
      movedId = row(db, 5).eventId;
      db.prepare('UPDATE audit_events SET seq = -4 WHERE seq = 4').run();
      db.prepare('UPDATE audit_events SET seq = 4 WHERE seq = 5').run();
      db.prepare('UPDATE audit_events SET seq = 5 WHERE seq = -4').run();
    });
    const r = verify(['--data-dir', dir]);
    assert.equal(r.code, 1);
    assert.equal(r.findings[0]?.kind, 'reordered');
    assert.equal(r.findings[0]?.seq, 4);
    assert.equal(r.findings[0]?.eventId, movedId);
  });

  it('refuses a digest re-signed by another key, given the published public key', () => {
    const publicKey = join(mkdtempSync(join(tmpdir(), 'trent-pk-')), 'audit.pem');
    scratch.push(join(publicKey, '..'));
    const pk = trent(['audit', 'public-key', '--data-dir', pristine]);
    assert.equal(pk.code, 0);
    assert.match(pk.stdout, /^-----BEGIN PUBLIC KEY-----/);
    writeFileSync(publicKey, pk.stdout);
    const dir = tampered((db) => {
      // Swap in another deployment's signing key: the store then vouches for itself.
      db.prepare("DELETE FROM meta WHERE name = 'audit-signing-key'").run();
      db.prepare('UPDATE audit_digests SET doc = replace(doc, \'"recordCount":6\', \'"recordCount":5\')').run();
    });
    const r = verify(['--data-dir', dir, '--public-key', publicKey]);
    assert.equal(r.code, 1);
    assert.equal(r.findings[0]?.kind, 'digest');
    assert.match(r.findings[0]?.message ?? '', /invalid signature/);
  });

  it('checks only a time range with --from/--to', () => {
    const r = trent([
      'audit',
      'verify',
      '--data-dir',
      pristine,
      '--from',
      '2000-01-01T00:00:00Z',
      '--to',
      '2999-01-01T00:00:00Z',
    ]);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /OK: 6 records/);
  });

  describe('exports', () => {
    let out: string;

    before(() => {
      out = mkdtempSync(join(tmpdir(), 'trent-export-'));
      scratch.push(out);
      const r = trent(['audit', 'export', '--data-dir', pristine, '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /exported 6 records in 1 files/);
    });

    function logFile(dir: string): string {
      const files = readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.json.gz'));
      assert.equal(files.length, 1);
      assert.match(
        files[0]!,
        /^AWSLogs\/111122223333\/CloudTrail\/trent\/\d{4}\/\d\d\/\d\d\/111122223333_CloudTrail_trent_\d{8}T\d{2}00Z_1\.json\.gz$/,
      );
      return join(dir, files[0]!);
    }

    function editExport(edit: (records: Record<string, unknown>[]) => Record<string, unknown>[]): string {
      const dir = mkdtempSync(join(tmpdir(), 'trent-export-t-'));
      scratch.push(dir);
      cpSync(out, dir, { recursive: true });
      const file = logFile(dir);
      const doc = JSON.parse(gunzipSync(readFileSync(file)).toString()) as { Records: Record<string, unknown>[] };
      writeFileSync(file, gzipSync(JSON.stringify({ Records: edit(doc.Records) })));
      return dir;
    }

    it('writes CloudTrail-shaped gzip files that verify with no store', () => {
      const doc = JSON.parse(gunzipSync(readFileSync(logFile(out))).toString()) as {
        Records: Record<string, unknown>[];
      };
      assert.deepEqual(
        doc.Records.map((r) => r.eventName),
        lookupAll(pristine)
          .map((r) => r.eventName)
          .reverse(),
      );
      const r = trent(['audit', 'verify', '--export', out]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    });

    it('names an altered, a removed and a reordered record in an export', () => {
      const altered = verify([
        '--export',
        editExport((rs) => rs.map((r, i) => (i === 2 ? { ...r, awsRegion: 'eu-west-1' } : r))),
      ]);
      assert.equal(altered.code, 1);
      assert.deepEqual([altered.findings[0]?.kind, altered.findings[0]?.seq], ['altered', 3]);

      const removed = verify(['--export', editExport((rs) => rs.filter((_, i) => i !== 1))]);
      assert.equal(removed.code, 1);
      assert.deepEqual([removed.findings[0]?.kind, removed.findings[0]?.seq], ['removed', 2]);

      const reordered = verify(['--export', editExport((rs) => [rs[0]!, rs[2]!, rs[1]!, ...rs.slice(3)])]);
      assert.equal(reordered.code, 1);
      assert.ok(reordered.findings.some((f) => f.kind === 'reordered'));

      const inserted = verify([
        '--export',
        editExport((rs) => [...rs.slice(0, 3), { ...rs[2]!, eventID: 'forged' }, ...rs.slice(3)]),
      ]);
      assert.equal(inserted.code, 1);
      assert.equal(inserted.findings[0]?.kind, 'inserted');
    });
  });

  it('prunes by age at a digest boundary and stays verifiable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trent-prune-'));
    scratch.push(dir);
    cpSync(pristine, dir, { recursive: true });
    const pruned = trent(['audit', 'prune', '--data-dir', dir, '--older-than-days', '0']);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.match(pruned.stdout, /pruned 6 records \(through seq 6\)/);
    assert.equal(lookupAll(dir).length, 0);
    assert.equal(trent(['audit', 'verify', '--data-dir', dir]).code, 0);
    const again = await startServer({ dataDir: dir });
    try {
      await again.client().send(new CreateKeyCommand({}));
    } finally {
      await again.stop();
    }
    const r = trent(['audit', 'verify', '--data-dir', dir]);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /OK: 1 records and 2 signed digests/);
    // Without the anchoring digest, the first remaining record links to nothing.
    const db = new Database(join(dir, 'trent.db'));
    db.prepare('DELETE FROM audit_digests WHERE number = 1').run();
    db.close();
    assert.equal(trent(['audit', 'verify', '--data-dir', dir]).code, 1);
  });
});
