// `npm run gen:api`: the services' OpenAPI documents -> TypeScript types in src/api/generated/.
import { execFileSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const spa = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repo = resolve(spa, "..", "..");
execFileSync("uv", ["run", "--frozen", "--no-sync", "python", "web/spa/scripts/export_openapi.py"], {
  cwd: repo,
  stdio: "inherit",
});
for (const service of ["wallet", "contracts", "provisioning", "licensing"]) {
  execFileSync(
    resolve(spa, "node_modules", ".bin", "openapi-typescript"),
    [`openapi/${service}.json`, "-o", `src/api/generated/${service}.ts`],
    { cwd: spa, stdio: "inherit" },
  );
}
