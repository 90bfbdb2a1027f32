// The etcd decoders (lock-formats.md §2): Go concurrency Mutex/Election (and etcdctl lock/elect,
// the v3lock API), npm etcd3 Lock and Election. Pure: see decode.ts.
export {
  applyLeases,
  applyLeasesInPlace,
  holderKeyOf,
  holderLeaseMap,
  decodeEtcd,
  decodeStructure,
  ETCD_FORMATS,
  type EtcdDecodeResult,
  type Leases,
} from "./decode";
export { classify, parentOf } from "./layout";
export { leaseHex, type EtcdEntry, type LeaseInfo } from "./entry";
export { ChunkedDecoder } from "./chunks";
