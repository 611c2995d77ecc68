// The contract between bench/run.mjs and a section script: the section runs in its own process,
// logs progress to stderr, and prints its result as one JSON line on stdout:
// { title, tables: [{ title, columns, rows, notes }], notes }.

export const args = new Set(process.argv.slice(2));
export const quick = args.has('--quick');

export function log(message) {
  process.stderr.write(`  ${message}\n`);
}

export function emit(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
