import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` serves the SPA with hot reload and forwards the BFF's paths to a running BFF (make run).
const bff = process.env.RENTAL_BFF_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  server: { proxy: { "/api": bff, "/auth": bff } },
  build: { outDir: "dist", sourcemap: true },
});
