export { startServer, createLogger, type RunningServer } from './serve.js';
export { openStores, openSqlStore, openDataStore } from './open-stores.js';
export { readConfig, ConfigError, type ServerConfig } from './config.js';
export { createApp } from './app.js';
