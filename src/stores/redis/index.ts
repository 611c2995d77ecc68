export {
  createRedisStores,
  type RedisStores,
  type RedisStoresOptions,
  type RedisStoresSettings,
} from './create-redis-stores.js';
export { composeStore, type StoreOverlay } from '../compose.js';
