import { pino, type DestinationStream, type Logger } from 'pino';

export type { DestinationStream, Logger };

/** A JSON logger, to stdout unless given another destination (tests read what a server logs). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return destination ? pino({ level, base: { service: 'parley' } }, destination) : pino({ level, base: { service: 'parley' } });
}
