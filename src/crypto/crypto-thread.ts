import { parentPort } from 'node:worker_threads';
import { asBuffers, type TaskReply, type TaskRequest } from './crypto-threads.js';
import { THREAD_TASKS } from './thread-tasks.js';

/** One thread of CryptoThreads (crypto-threads.ts): runs each task it is sent and answers it. */
if (parentPort === null) throw new Error('crypto-thread.js runs only as a worker thread');
const port = parentPort;

port.on('message', async ({ id, task, args }: TaskRequest) => {
  let reply: TaskReply;
  try {
    const run = THREAD_TASKS[task] as (...a: unknown[]) => unknown;
    reply = { id, ok: true, value: await run(...args.map(asBuffers)) };
  } catch (err) {
    reply = { id, ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
  // postMessage has copied it: this thread's copy of a shared secret or a plaintext goes now, not
  // whenever this heap is collected.
  if (reply.ok && reply.value instanceof Uint8Array) reply.value.fill(0);
});
