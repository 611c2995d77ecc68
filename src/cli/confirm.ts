import { createInterface } from 'node:readline/promises';

/**
 * Asks on the terminal and resolves true only when the operator types `word` exactly. False on any
 * other answer, and on end of input or Ctrl-C: a destructive step goes ahead only on a clear yes.
 */
export async function confirmOnTerminal(question: string, word: string): Promise<boolean> {
  const lines = createInterface({ input: process.stdin, output: process.stderr });
  const cancelled = new Promise<string>((resolve) => {
    lines.once('close', () => resolve(''));
    lines.once('SIGINT', () => resolve(''));
  });
  try {
    const answer = await Promise.race([lines.question(question), cancelled]);
    return answer.trim() === word;
  } finally {
    lines.close();
  }
}
