export {
  createRedisStores,
  DEFAULT_KEY_PREFIX,
  type RedisStores,
  type RedisStoresOptions,
  type RedisStoresSettings,
} from './create-redis-stores.js';
export { composeStore, type StoreOverlay } from '../compose.js';
export { createRedisRevocationFeed } from '../../revocation/redis-feed.js';
