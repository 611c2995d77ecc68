import type { Server } from 'node:http';

export function createResourceServer(options: {
  issuer: string;
  audience?: string;
  jwksUrl?: string | URL;
  cooldownDuration?: number;
}): Server;
