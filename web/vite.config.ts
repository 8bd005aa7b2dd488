/// <reference types="vitest/config" />
// The console is served by the API at /app; the build goes into the Python package so a wheel or
// editable install carries it (pulse/console/static, gitignored, package data).
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";

const outDir = fileURLToPath(new URL("../pulse/console/static", import.meta.url));

export default defineConfig({
  base: "/app/",
  plugins: [react()],
  build: {
    outDir,
    emptyOutDir: true,
    // No inline module-preload polyfill script: the CSP forbids inline scripts.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    // `npm run dev` against a running `pulse up` on the default port.
    proxy: {
      "/api": { target: "http://127.0.0.1:8080", ws: true },
      "/customer": "http://127.0.0.1:8080",
      "/operator": "http://127.0.0.1:8080",
      "/oauth": "http://127.0.0.1:8080",
      "/app/config.json": "http://127.0.0.1:8080",
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    css: false,
  },
});
