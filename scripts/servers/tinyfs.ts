// A tiny real filesystem for disk-full and read-only tests: a tmpfs of a few KiB mounted on a
// temp dir. Writes past its size fail with the kernel's own ENOSPC (a write that straddles the
// end is cut short, leaving a torn line, as on a real full disk); remounting it read-only makes
// writes fail with EROFS. Mounting needs root with CAP_SYS_ADMIN (a CI container usually is);
// elsewhere tinyFs() returns null with the reason, and callers fall back to /dev/full.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

// Mounts still up when the process exits are detached (lazy umount), never left behind.
const mounts = new Set<string>();
let hooked = false;
function forget(dir: string): void {
  mounts.delete(dir);
  try {
    execFileSync("umount", ["-l", dir], { stdio: "ignore" });
  } catch {
    // not mounted any more
  }
  try {
    rmdirSync(dir);
  } catch {
    // already gone
  }
}

export interface TinyFs {
  dir: string;
  /** Total size in bytes (tmpfs rounds up to whole pages). */
  resize(bytes: number): void;
  readOnly(): void;
  writable(): void;
  unmount(): void;
}

function mount(args: string[]): void {
  execFileSync("mount", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** A tmpfs of `bytes` on a fresh temp dir, or the reason it cannot be made here. */
export function tinyFs(bytes: number): TinyFs | { unavailable: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "lockdeck-tinyfs-"));
  try {
    mount(["-t", "tmpfs", "-o", `size=${bytes},mode=0700`, "tmpfs", dir]);
  } catch (err) {
    rmdirSync(dir);
    const msg = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
    return { unavailable: `cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): ${msg}` };
  }
  mounts.add(dir);
  if (!hooked) {
    hooked = true;
    process.on("exit", () => [...mounts].forEach(forget));
  }
  return {
    dir,
    resize: (n) => mount(["-o", `remount,size=${n}`, dir]),
    readOnly: () => mount(["-o", "remount,ro", dir]),
    writable: () => mount(["-o", "remount,rw", dir]),
    unmount: () => forget(dir),
  };
}
