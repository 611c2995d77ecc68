import { CATALOGUE, defineCatalogue } from './catalogue.js';
import { servicesFor } from './harness.js';

// The representative subset (rows marked `everyStore`) against `coatcheck serve` on Postgres for
// users and keys and Redis for sessions, refresh families and the revocation feed. Skipped, loudly,
// without the services; on CI a missing one fails the run (requireService).
defineCatalogue(
  'postgres+redis',
  await servicesFor('postgres+redis'),
  CATALOGUE.filter((row) => row.everyStore),
);
