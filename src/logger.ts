import { pino, type DestinationStream, type Logger } from 'pino';

export type { DestinationStream, Logger };

/** A JSON logger, to stdout unless given another destination (tests read what a server logs). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return destination ? pino({ level, base: { service: 'parley' } }, destination) : pino({ level, base: { service: 'parley' } });
}

/**
 * Writes `text` as is to the log's destination, behind the lines already logged. The log's
 * stream writes asynchronously, so text written to stdout directly could land before (or
 * between) the lines logged just before it: what the operator must read (the demo key) goes
 * this way, as one block, after the lines that lead up to it.
 */
export function writeToLog(logger: Logger, text: string): void {
  const stream = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym];
  if (!stream) throw new Error('the logger has no destination stream');
  stream.write(text);
}
