import { describe, expect, it } from "vitest";
import { ConfigSchema } from "../../config";

const parse = (c: Record<string, unknown>) => ConfigSchema.safeParse({ connections: [{ id: "zk", kind: "zookeeper", ...c }] });

describe("ZooKeeper connection config", () => {
  it("defaults: /locks, sync() before reads, watches, listing limit 10 000", () => {
    const r = parse({ connectString: "10.0.0.1:2181,10.0.0.2:2181/app" });
    expect(r.success).toBe(true);
    expect(r.data?.connections[0]).toMatchObject({ roots: ["/locks"], consistency: "sync", watch: true, maxChildren: 10_000 });
  });
  it("refuses a connect string without ports, relative roots and unknown fields", () => {
    expect(parse({ connectString: "zk1" }).success).toBe(false);
    expect(parse({ connectString: "zk1:2181", roots: ["locks"] }).success).toBe(false);
    expect(parse({ connectString: "zk1:2181", password: "x" }).success).toBe(false);
  });
});
