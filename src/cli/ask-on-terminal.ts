import { createInterface } from 'node:readline/promises';

/**
 * Asks on the terminal and resolves the answer, trimmed; `null` when the operator cancels (Ctrl-C,
 * or Ctrl-D on an empty line), so that a destructive step goes ahead only on a typed answer.
 */
export async function askOnTerminal(question: string): Promise<string | null> {
  const lines = createInterface({ input: process.stdin, output: process.stderr });
  const cancelled = new Promise<null>((resolve) => {
    lines.once('close', () => resolve(null));
    lines.once('SIGINT', () => resolve(null));
  });
  try {
    // Closed while asking, `question` rejects too (an AbortError): that is a cancel as well.
    const answer = await Promise.race([lines.question(question).catch(() => null), cancelled]);
    // Cancelled, the cursor is still on the prompt's line.
    if (answer === null) process.stderr.write('\n');
    return answer === null ? null : answer.trim();
  } finally {
    lines.close();
  }
}
