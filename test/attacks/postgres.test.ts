import { CATALOGUE, defineCatalogue } from './catalogue.js';
import { servicesFor } from './harness.js';

// The representative subset (rows marked `everyStore`) against `coatcheck serve` on Postgres alone.
// Skipped, loudly, without a Postgres; on CI a missing Postgres fails the run (requireService).
defineCatalogue(
  'postgres',
  await servicesFor('postgres'),
  CATALOGUE.filter((row) => row.everyStore),
);
