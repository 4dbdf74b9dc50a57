// Builds both pages into dist/, which is committed and embedded in the
// server binary. The output is a pure function of the sources and the
// locked node_modules: file names carry content hashes, and there are no
// source maps or timestamps, so CI can rebuild and demand an empty diff.
import { defineConfig } from "vite";
import { resolve } from "node:path";

/** Where `npm run dev` forwards API calls: a `cargo run` server by default. */
const api = process.env.CHAT_SERVER_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/",
  server: {
    proxy: {
      "/graphql": api,
      "/ws": { target: api.replace(/^http/, "ws"), ws: true },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    // GraphiQL is one large chunk by nature; it is served locally.
    chunkSizeWarningLimit: 4096,
    rollupOptions: {
      // GraphiQL's dependencies mark modules "use client" (a React Server
      // Components hint with no meaning in a client bundle); Rollup drops
      // the directive either way, so its warning is only noise in CI logs.
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
      input: {
        graphiql: resolve(import.meta.dirname, "index.html"),
        chat: resolve(import.meta.dirname, "chat/index.html"),
      },
    },
  },
});
