import { createMemoryStore } from '../../src/stores/memory/index.js';
import { defineStoreConformance, type StoreFixture } from './conformance.js';
import { defineRefreshFamilyConformance } from './refresh-family-conformance.js';
import { defineSigningKeyConformance } from './signing-key-conformance.js';

function open(): Promise<StoreFixture> {
  const store = createMemoryStore();
  return Promise.resolve({ store, cleanup: () => store.close() });
}

defineStoreConformance('memory', open, { persistent: false, joinsSessionsWithUsers: true, readsWithoutWaiting: true });
defineRefreshFamilyConformance('memory', open, { persistent: false });
defineSigningKeyConformance('memory', open, { persistent: false });
