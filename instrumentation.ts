// Runs once when the server starts; the Node-only work lives in lib/startup.ts.
export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") await import("./lib/startup");
}
