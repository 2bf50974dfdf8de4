/**
 * Valid Fargate task sizes (Linux): the table in docs/pricing.md, written once here. The
 * optimizer reads it from the platform facts file (docs/platform-facts.md); both languages'
 * tests hold it against the documented list.
 */

function steps(start: number, stop: number, step: number): number[] {
  const out: number[] = [];
  for (let m = start; m <= stop; m += step) out.push(m);
  return out;
}

/** CPU units -> valid memory sizes in MiB, ascending. */
export const FARGATE_SIZES: Readonly<Record<number, readonly number[]>> = Object.freeze({
  256: [512, 1024, 2048],
  512: steps(1024, 4096, 1024),
  1024: steps(2048, 8192, 1024),
  2048: steps(4096, 16384, 1024),
  4096: steps(8192, 30720, 1024),
  8192: steps(16384, 61440, 4096),
  16384: steps(32768, 122880, 8192),
});

export const FARGATE_CPUS: readonly number[] = Object.keys(FARGATE_SIZES).map(Number);

export function validMemories(cpu: number): readonly number[] {
  return FARGATE_SIZES[cpu] ?? [];
}

export function isValidFargateSize(cpu: number, memory: number): boolean {
  return validMemories(cpu).includes(memory);
}

/**
 * Why a pair is not a Fargate size, or undefined when it is. The message names the pair and
 * lists what is allowed, so a config error can be fixed without opening the docs.
 */
export function fargateSizeError(cpu: number, memory: number): string | undefined {
  if (!(cpu in FARGATE_SIZES)) {
    return `cpu ${cpu} is not a Fargate CPU size (allowed: ${FARGATE_CPUS.join(", ")})`;
  }
  if (!isValidFargateSize(cpu, memory)) {
    return `memory ${memory} MiB is not valid with cpu ${cpu} (valid: ${validMemories(cpu).join(", ")})`;
  }
  return undefined;
}
