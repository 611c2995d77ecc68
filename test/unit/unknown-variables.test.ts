import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KNOWN_VARIABLES, unknownVariableWarnings } from '../../src/server/unknown-variables.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('unknown COATCHECK_* variables', () => {
  it('names a misspelt setting and the one it most likely meant, never its value', () => {
    const warnings = unknownVariableWarnings({
      COATCHECK_TRUST_PROXIES: '1',
      COATCHECK_SESION_IDLE_TTL: '300',
      COATCHECK_SECERT: 'hunter2-but-long-enough-to-be-a-secret',
      COATCHECK_SOMETHING_ELSE_ENTIRELY: 'x',
      COATCHECK_TRUST_PROXY: '1',
      PORT: '3000',
    });
    expect(warnings).toEqual([
      'COATCHECK_SECERT is not a coatcheck setting and is ignored (did you mean COATCHECK_SECRET?)',
      'COATCHECK_SESION_IDLE_TTL is not a coatcheck setting and is ignored (did you mean COATCHECK_SESSION_IDLE_TTL?)',
      'COATCHECK_SOMETHING_ELSE_ENTIRELY is not a coatcheck setting and is ignored',
      'COATCHECK_TRUST_PROXIES is not a coatcheck setting and is ignored (did you mean COATCHECK_TRUST_PROXY?)',
    ]);
    expect(warnings.join('\n')).not.toContain('hunter2');
  });

  it('says nothing about the settings it reads, or about other variables', () => {
    const env = Object.fromEntries([...KNOWN_VARIABLES, 'PORT', 'DATABASE_URL', 'CI'].map((name) => [name, 'x']));
    expect(unknownVariableWarnings(env)).toEqual([]);
  });

  it('knows exactly the COATCHECK_* names that src/ reads', () => {
    const read = new Set<string>();
    for (const file of sourceFiles('src')) {
      // COATCHECK_MOUNT is a process warning's code, not a variable.
      for (const [name] of readFileSync(file, 'utf8').matchAll(/COATCHECK_[A-Z_]+/g)) {
        if (name !== 'COATCHECK_MOUNT' && !file.endsWith('unknown-variables.ts')) read.add(name);
      }
    }
    expect([...read].sort()).toEqual([...KNOWN_VARIABLES].sort());
  });
});
