import { parentPort } from 'node:worker_threads';
import { answerCalls } from '../thread-calls.js';
import { asBuffers, type TaskRequest } from './crypto-threads.js';
import { THREAD_TASKS } from './thread-tasks.js';

/** One thread of CryptoThreads (crypto-threads.ts): runs each task it is sent and answers it. */
if (parentPort === null) throw new Error('crypto-thread.js runs only as a worker thread');
const port = parentPort;

answerCalls<TaskRequest>(
  port,
  ({ task, args }) => (THREAD_TASKS[task] as (...a: unknown[]) => unknown)(...args.map(asBuffers)),
  // postMessage has copied it: this thread's copy of a shared secret or a plaintext goes now, not
  // whenever this heap is collected.
  (value) => {
    if (value instanceof Uint8Array) value.fill(0);
  },
);
