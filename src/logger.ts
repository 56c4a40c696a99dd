import winston from 'winston';

export type Logger = winston.Logger;

/** Structured logs: JSON lines in production, readable lines on a terminal. */
export function createLogger(level: string, format: 'json' | 'pretty' | 'auto'): Logger {
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY);
  return winston.createLogger({
    level,
    format: pretty
      ? winston.format.combine(
          winston.format.colorize(),
          winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
          winston.format.printf(({ timestamp, level: lvl, message, ...rest }) => {
            const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
            return `${timestamp} ${lvl} ${message}${extra}`;
          }),
        )
      : winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Console()],
  });
}

/** A logger that drops everything (tests and tools that own their output). */
export const silentLogger = (): Logger =>
  winston.createLogger({ silent: true, transports: [new winston.transports.Console()] });
