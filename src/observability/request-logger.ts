/**
 * Per-request loggers made on first use. Fastify gives every request a pino child bound to its
 * request id; building one (bindings serialized through the redaction paths) was a measurable share
 * of a cached GET, and most requests never log at the configured level (Fastify's own "incoming
 * request" / "request completed" lines are info, production runs at warn). This stand-in checks the
 * level first and creates the very same child (same bindings, same output) only when a line is
 * actually written, or when a caller needs the child itself (child(), bindings()).
 */
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
type Bindings = Record<string, unknown>;
type LogArgs = Parameters<FastifyBaseLogger['info']>;
/** pino's logger, as far as this module uses it (Fastify's logger type leaves out the level check). */
type Logger = FastifyBaseLogger & { isLevelEnabled(level: string): boolean };

class RequestLogger {
  #parent: Logger;
  #bindings: Bindings;
  #child: Logger | null = null;

  constructor(parent: Logger, bindings: Bindings) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  #real(): Logger {
    this.#child ??= this.#parent.child(this.#bindings) as Logger;
    return this.#child;
  }

  #write(level: Level, args: LogArgs) {
    if (!(this.#child ?? this.#parent).isLevelEnabled(level)) return;
    (this.#real()[level] as (...a: LogArgs) => void)(...args);
  }

  get level(): string {
    return (this.#child ?? this.#parent).level;
  }
  set level(level: string) {
    this.#real().level = level;
  }
  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.#parent).isLevelEnabled(level);
  }
  trace(...args: LogArgs) {
    this.#write('trace', args);
  }
  debug(...args: LogArgs) {
    this.#write('debug', args);
  }
  info(...args: LogArgs) {
    this.#write('info', args);
  }
  warn(...args: LogArgs) {
    this.#write('warn', args);
  }
  error(...args: LogArgs) {
    this.#write('error', args);
  }
  fatal(...args: LogArgs) {
    this.#write('fatal', args);
  }
  silent() {}
  child(...args: Parameters<FastifyBaseLogger['child']>): FastifyBaseLogger {
    return this.#real().child(...args);
  }
  bindings(): Bindings {
    return (this.#real() as unknown as { bindings(): Bindings }).bindings();
  }
  setBindings(bindings: Bindings) {
    (this.#real() as unknown as { setBindings(b: Bindings): void }).setBindings(bindings);
  }
  /** More bindings for the child: merged before it exists (no child made for them), else set on it. */
  addBindings(bindings: Bindings) {
    if (this.#child) this.setBindings(bindings);
    else this.#bindings = { ...this.#bindings, ...bindings };
  }
  flush(cb?: (err?: Error) => void) {
    (this.#parent as unknown as { flush?(cb?: (err?: Error) => void): void }).flush?.(cb);
  }
}

/**
 * Fastify's `childLoggerFactory`. A route with its own log level or serializers gets a real child
 * at once (its level decides what is written), as does a logger without level checks.
 */
export const lazyChildLogger: NonNullable<FastifyServerOptions['childLoggerFactory']> = (
  logger,
  bindings,
  options,
) => {
  if (
    typeof (logger as Partial<Logger>).isLevelEnabled !== 'function' ||
    options?.level !== undefined ||
    options?.serializers !== undefined
  ) {
    return logger.child(bindings, options);
  }
  return new RequestLogger(logger as Logger, bindings) as unknown as FastifyBaseLogger;
};

/**
 * Adds bindings (a trace id) to a request's logger: the lazy one merges them into the child it will
 * make; a real pino child takes them at once; the no-op logger (logging off) ignores them.
 */
export function addLogBindings(log: FastifyBaseLogger, bindings: Bindings) {
  if (log instanceof RequestLogger) log.addBindings(bindings);
  else (log as Partial<{ setBindings(b: Bindings): void }>).setBindings?.(bindings);
}
