/**
 * IPv4 CIDR arithmetic for carving the VPC into subnets. Subnet CIDRs are a pure function of the
 * VPC CIDR and the AZ index, so adding an AZ never moves an existing subnet (which would replace
 * it and everything in it).
 */

export interface Ipv4Cidr {
  /** The address as an unsigned 32-bit integer. */
  address: number;
  prefix: number;
}

export function parseCidr(cidr: string): Ipv4Cidr {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  return { address, prefix };
}

export function formatCidr({ address, prefix }: Ipv4Cidr): string {
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256);
  return `${octets.join(".")}/${prefix}`;
}

function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

/** True when the host bits are zero (10.0.0.0/16, not 10.0.0.1/16). */
export function isNetworkAddress(c: Ipv4Cidr): boolean {
  return c.address % blockSize(c.prefix) === 0;
}

/** The network address of the block containing `c` (10.0.0.1/16 -> 10.0.0.0/16). */
export function networkOf(c: Ipv4Cidr): Ipv4Cidr {
  return { address: c.address - (c.address % blockSize(c.prefix)), prefix: c.prefix };
}

/** The `index`th block of `prefix + newBits` inside `parent` (like Terraform's cidrsubnet). */
export function subnetCidr(parent: Ipv4Cidr, newBits: number, index: number): Ipv4Cidr {
  const prefix = parent.prefix + newBits;
  if (prefix > 32) throw new Error(`cannot split ${formatCidr(parent)} into /${prefix} blocks`);
  if (index < 0 || index >= 2 ** newBits) throw new Error(`${formatCidr(parent)} has no block ${index} of size /${prefix}`);
  return { address: parent.address + index * blockSize(prefix), prefix };
}
