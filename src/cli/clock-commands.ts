import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Command } from 'commander';
import { formatAmzDate, signRequest } from '../auth/sigv4.js';

/**
 * `trent clock advance --seconds N --endpoint URL`: moves a running server's lifecycle clock
 * forward (POST /trent/admin/clock, see src/server/admin-clock.ts), signed with the
 * administrator's credentials file. The server must run with --allow-time-travel.
 */
export function clockCommands(): Command {
  const clock = new Command('clock').description("move a test server's lifecycle clock (needs --allow-time-travel)");
  clock
    .command('advance')
    .description('move the lifecycle clock forward and run the schedulers that fall due')
    .requiredOption('--seconds <n>', 'how far to move, in seconds')
    .option('--endpoint <url>', 'the server (default http://127.0.0.1:4599)', 'http://127.0.0.1:4599')
    .option('--data-dir <dir>', "the server's data directory, for its credentials file (default .trent)", '.trent')
    .option(
      '--credentials <file>',
      'an AWS credentials file with the administrator key (default <data-dir>/credentials)',
    )
    .option('--region <region>', 'region to sign for', 'us-east-1')
    .action(async (o: { seconds: string; endpoint: string; dataDir: string; credentials?: string; region: string }) => {
      const seconds = Number(o.seconds);
      if (!Number.isInteger(seconds) || seconds < 0)
        throw new Error(`--seconds must be a whole number, not ${o.seconds}`);
      const credentials = readAdminCredentials(o.credentials ?? join(o.dataDir, 'credentials'));
      const result = await advanceClock(o.endpoint, credentials, seconds, o.region);
      process.stdout.write(`${JSON.stringify(result)}\n`);
    });
  return clock;
}

export async function advanceClock(
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  seconds: number,
  region = 'us-east-1',
): Promise<{ now: number; offsetSeconds: number }> {
  const url = new URL('/trent/admin/clock', endpoint);
  const body = JSON.stringify({ advanceSeconds: seconds });
  const amzDate = formatAmzDate(new Date());
  const headers: Record<string, string> = {
    host: url.host,
    'content-type': 'application/json',
    'x-amz-date': amzDate,
  };
  headers.authorization = signRequest({
    method: 'POST',
    path: url.pathname,
    headers,
    body,
    accessKeyId: credentials.accessKeyId,
    secret: credentials.secretAccessKey,
    region,
    service: 'kms',
    amzDate,
  });
  const { status, text } = await post(url, headers, body);
  if (status !== 200) throw new Error(`${url.href} answered ${status}: ${text}`);
  return JSON.parse(text) as { now: number; offsetSeconds: number };
}

function post(url: URL, headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function readAdminCredentials(path: string): { accessKeyId: string; secretAccessKey: string } {
  const text = readFileSync(path, 'utf8');
  const accessKeyId = /aws_access_key_id\s*=\s*(\S+)/.exec(text)?.[1];
  const secretAccessKey = /aws_secret_access_key\s*=\s*(\S+)/.exec(text)?.[1];
  if (accessKeyId === undefined || secretAccessKey === undefined) throw new Error(`no credentials in ${path}`);
  return { accessKeyId, secretAccessKey };
}
