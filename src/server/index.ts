export { startServer, openDataStore, createLogger, type RunningServer } from './serve.js';
export { readConfig, ConfigError, type ServerConfig } from './config.js';
export { createApp } from './app.js';
