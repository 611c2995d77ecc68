// Every bench server listens on 127.0.0.1:$PORT, answers GET /healthz once ready, and stops on SIGTERM.
export function listen(app, { onClose } = {}) {
  const server = app.listen(Number(process.env.PORT), '127.0.0.1');
  server.keepAliveTimeout = 30_000;
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close(async () => {
      await onClose?.();
      process.exit(0);
    });
  });
  return server;
}

export const silentLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
