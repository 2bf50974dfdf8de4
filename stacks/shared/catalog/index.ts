/**
 * The service catalog: what each service is (port, paths, sizes, scaling, settings, permissions,
 * who may call it). It is declared in the compute layer's config as a map keyed by service name,
 * each entry merged over the defaults, so a team adds a service by adding an entry.
 *
 *   schema.ts        the shape of an entry (every field documented once)
 *   defaults.ts      BASE_SERVICE and the default catalog
 *   entry-reader.ts  value patterns, the reader that names the key in every rejection, task sizes
 *   reader.ts        loadCatalog: entries over their defaults, then cross-service rules
 *   projection.ts    one service's values for one tier (forTier), and who a service calls
 */
export * from "./schema";
export * from "./defaults";
export { ROTATION_DAYS_RANGE, SECRET_ARN } from "./entry-reader";
export * from "./reader";
export * from "./projection";
