// cluster-key-slot (an ioredis dependency) ships no types.
declare module "cluster-key-slot" {
  export default function calculateSlot(key: string | Buffer): number;
}
