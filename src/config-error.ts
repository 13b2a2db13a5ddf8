/** A bad configuration value: start-up stops with this one-line message. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
