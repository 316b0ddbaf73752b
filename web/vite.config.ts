/// <reference types="vitest/config" />
// Preact without @preact/preset-vite: esbuild (inside Vite) compiles the JSX for Preact's
// automatic runtime, so the build pulls no Babel and stays within Debian 12's Node 18.
import { defineConfig } from "vite";

// No @types/node just for this one line.
declare const process: { env: Record<string, string | undefined> };

// The API server the dev server (npm run dev) forwards to; the built page needs no such thing.
const api = process.env.CCS_API ?? "http://127.0.0.1:8080";

export default defineConfig({
  // agent_api/http_static.py serves dist/index.html at / and /desk/, and dist/assets/ under
  // /desk/assets/: absolute asset URLs work from both addresses.
  base: "/desk/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2020",
    // One small page: no source maps shipped, assets hashed (the server caches them for a year).
    sourcemap: false,
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      "/api": api,
      "/socket.io": { target: api, ws: true },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
  },
});
