// The deploy kit (deploy/) read by the parsers of the tools that will read it: BuildKit's
// Dockerfile front end and Kubernetes' strict decoder into k8s.io/api types, plus the
// references between objects (scripts/deploy-check/main.go). Images cannot be built on this
// machine (no container engine), so this and the e2e suite (which runs the same standalone
// server the image runs, as an unprivileged user) are what checks the kit. The broken copies
// show the check can fail.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { requireBinary } from "../servers/binaries";

const root = path.resolve(__dirname, "../..");
const kit = {
  dockerfile: path.join(root, "deploy", "Dockerfile"),
  manifests: ["lockdeck.yaml", "oauth2-proxy.yaml"].map((f) => path.join(root, "deploy", "kubernetes", f)),
};
let bin = "";

async function check(dockerfile: string, manifests: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await promisify(execFile)(bin, [dockerfile, ...manifests]);
    return { code: 0, out: stdout };
  } catch (e) {
    const x = e as { code?: number; stdout?: string };
    return { code: x.code ?? 1, out: x.stdout ?? "" };
  }
}

beforeAll(async () => {
  requireBinary("go", "Go ≥ 1.25 on PATH");
  const { stdout } = await promisify(execFile)("bash", [path.join(__dirname, "build.sh")], { timeout: 280_000, maxBuffer: 16 * 1024 * 1024 });
  bin = stdout.trim().split("\n").pop()!;
}, 300_000);

describe("deploy kit", () => {
  it("the Dockerfile and the Kubernetes manifests pass BuildKit's parser and Kubernetes' strict decoding, references resolve", async () => {
    const r = await check(kit.dockerfile, kit.manifests);
    expect(r.out).toMatch(/^ok: .* and 6 Kubernetes objects/);
    expect(r.code).toBe(0);
  });

  it("a misspelt field, a wrong type, a bad Dockerfile flag and a root image are refused", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lockdeck-deploy-"));
    const yaml = readFileSync(kit.manifests[0], "utf8");
    const bad = path.join(dir, "bad.yaml");
    writeFileSync(bad, yaml.replace("readinessProbe:", "readinesProbe:").replace("terminationGracePeriodSeconds: 30", 'terminationGracePeriodSeconds: "30"'));
    const docker = path.join(dir, "Dockerfile");
    writeFileSync(
      docker,
      readFileSync(kit.dockerfile, "utf8")
        .replace("COPY --from=build", "COPY --form=build")
        .replace(/^USER .*$/m, "USER root"),
    );
    const r = await check(docker, [bad, kit.manifests[1]]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/unknown flag: --form/);
    expect(r.out).toMatch(/readinesProbe|terminationGracePeriodSeconds/);
    const rootOnly = path.join(dir, "Dockerfile.root");
    writeFileSync(rootOnly, readFileSync(kit.dockerfile, "utf8").replace(/^USER .*$/m, "USER root"));
    expect((await check(rootOnly, kit.manifests)).out).toMatch(/non-root USER/);
  });
});
