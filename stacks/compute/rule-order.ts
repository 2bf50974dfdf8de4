/**
 * The order of the public services' listener rules: which path patterns each rule matches and
 * its priority. Pure (no Pulumi calls), so the specs check it without a program.
 */
import { normalizedPath, ServiceCatalog, ServiceSpec } from "../shared";

/** The ALB path-pattern values of a public service's listener rule. */
export function pathPatterns(spec: Pick<ServiceSpec, "path">): string[] {
  if (spec.path === null) return [];
  return [normalizedPath(spec.path)];
}

/** How specific a path pattern is: literal characters before the first wildcard (catch-all = 0). */
function specificity(pattern: string): number {
  const wild = pattern.search(/[*?]/);
  return wild === -1 ? pattern.length + 1000 : wild;
}

/**
 * Listener-rule priorities for the public services. ALB evaluates rules in priority order, so
 * more specific paths must come first and `/` (the catch-all) last: services are ordered by
 * specificity, then name, and numbered `base`, `base + step`, ... The result depends only on
 * the catalog, so every run and every reader derives the same, unique numbers.
 */
export function listenerRulePriorities(catalog: ServiceCatalog, base = 100, step = 10): Record<string, number> {
  const publicServices = Object.values(catalog).filter((s) => s.path !== null);
  publicServices.sort((a, b) => {
    const [pa, pb] = [normalizedPath(a.path!), normalizedPath(b.path!)];
    return specificity(pb) - specificity(pa) || pb.length - pa.length || a.name.localeCompare(b.name);
  });
  const out: Record<string, number> = {};
  publicServices.forEach((s, i) => (out[s.name] = base + i * step));
  const last = base + (publicServices.length - 1) * step;
  if (last > 50000) throw new Error(`listener rule priorities reach ${last}; ALB allows up to 50000`);
  return out;
}
