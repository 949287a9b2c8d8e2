/**
 * Runs `work` and counts the turns of the event loop while it is pending: none when it ran
 * inline, more when it ran on another thread and the loop kept turning meanwhile.
 */
export async function turnsDuring<T>(work: Promise<T>): Promise<{ turns: number; value: T }> {
  let turns = 0;
  let done = false;
  const spin = () => {
    if (done) return;
    turns += 1;
    setImmediate(spin);
  };
  setImmediate(spin);
  try {
    const value = await work;
    return { turns, value };
  } finally {
    done = true;
  }
}
