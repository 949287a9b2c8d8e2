import { type MessagePort, Worker, type WorkerOptions } from 'node:worker_threads';

/** Thread → caller, one per call: its value, or the message of what it threw. */
export type CallReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string };

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/**
 * One worker thread answering numbered calls (answerCalls on its side), for the threads that take
 * slow work off the event loop (the crypto threads, the audit lookup thread). The thread is
 * referenced only while calls are outstanding, so an idle one never keeps a process alive. If it
 * fails or exits, every outstanding call rejects and `onLost` hears of it; the owner starts another.
 */
export class ThreadCalls {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 1;

  constructor(url: URL, options: WorkerOptions, name: string, onLost: (thread: ThreadCalls) => void) {
    this.#worker = new Worker(url, options);
    this.#worker.unref();
    this.#worker.on('message', (reply: CallReply) => {
      const waiting = this.#waiting.get(reply.id);
      if (waiting === undefined) return;
      this.#waiting.delete(reply.id);
      if (this.#waiting.size === 0) this.#worker.unref();
      if (reply.ok) waiting.resolve(reply.value);
      else waiting.reject(new Error(reply.message));
    });
    const lost = (err: Error) => {
      for (const waiting of this.#waiting.values()) waiting.reject(err);
      this.#waiting.clear();
      onLost(this);
    };
    this.#worker.on('error', lost);
    this.#worker.on('exit', (code) => lost(new Error(`${name} stopped (exit code ${code})`)));
  }

  /** Calls outstanding. */
  get pending(): number {
    return this.#waiting.size;
  }

  call(request: object): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      if (this.#waiting.size === 1) this.#worker.ref();
      this.#worker.postMessage({ ...request, id });
    });
  }

  /** Stops the thread now: its outstanding calls reject. */
  async terminate(): Promise<void> {
    await this.#worker.terminate();
  }
}

/**
 * The thread's side: answers each call with what `handle` returns (or throws). `posted` sees each
 * value once its reply is posted (and so copied), e.g. to zero a secret.
 */
export function answerCalls<R extends { id: number }>(
  port: MessagePort,
  handle: (request: R) => unknown,
  posted: (value: unknown) => void = () => {},
): void {
  port.on('message', async (request: R) => {
    let reply: CallReply;
    try {
      reply = { id: request.id, ok: true, value: await handle(request) };
    } catch (err) {
      reply = { id: request.id, ok: false, message: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply);
    if (reply.ok) posted(reply.value);
  });
}
