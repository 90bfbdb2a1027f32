// Locates (building once) the Curator hold program for tests; FAILS with an install hint when
// Java or Maven is missing. See scripts/capture/ZOOKEEPER.md.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { requireBinary } from "../../servers/binaries";

export const CURATOR_JAVA_HINT = "the Curator hold program needs Java 17+: `apt-get install -y openjdk-17-jdk-headless`";
export const CURATOR_MAVEN_HINT = "the Curator hold program is built with Maven (from Maven Central): `apt-get install -y maven`";

/** `java` and the Curator fat jar (built once into ~/.cache/lockdeck; ~35 s cold, instant warm). */
export async function prepareCurator(timeoutMs = 280_000): Promise<{ java: string; jar: string }> {
  const java = requireBinary("java", CURATOR_JAVA_HINT);
  requireBinary("mvn", CURATOR_MAVEN_HINT);
  try {
    const { stdout } = await promisify(execFile)("bash", [path.join(__dirname, "build.sh")], { timeout: timeoutMs, maxBuffer: 16 << 20 });
    return { java, jar: stdout.trim().split("\n").pop()! };
  } catch (e) {
    const x = e as Error & { stderr?: string };
    throw new Error(`building the Curator hold program failed (${CURATOR_JAVA_HINT}; ${CURATOR_MAVEN_HINT}): ${x.message}\n${(x.stderr ?? "").slice(-3000)}`);
  }
}

/** JVM flags that keep a hold program light on a 2-core machine. */
export const HOLD_JVM_FLAGS = ["-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto"];
