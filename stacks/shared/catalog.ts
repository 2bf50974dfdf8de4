/**
 * The service catalog's names. The registry layer creates one repository per name; the compute
 * layer's full catalog (sizes, ports, paths) is keyed by the same names.
 */
export const DEFAULT_SERVICE_NAMES = ["frontend", "api-gateway", "processing-service"] as const;

/** A service name becomes part of AWS names (`{service}-{suffix}`), so it must be DNS-safe. */
export const SERVICE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;
