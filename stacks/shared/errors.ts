/**
 * A configuration value that cannot be used. The message names the fully qualified key, the
 * value given and what is allowed, so `pulumi preview` fails with one actionable line.
 */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly value: unknown,
    readonly allowed: string,
  ) {
    super(`invalid config ${key} = ${JSON.stringify(value)}: ${allowed}`);
    this.name = "ConfigError";
  }
}
