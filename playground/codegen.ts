// GraphQL Code Generator: TypeScript types and typed documents for every
// operation under src/, from the server's committed schema. CI runs it and
// fails when src/generated/ differs, so a schema change that breaks the
// playground's operations is caught before it ships.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["src/**/*.graphql"],
  generates: {
    "src/generated/graphql.ts": {
      plugins: ["typescript", "typescript-operations", "typed-document-node"],
      config: {
        scalars: { DateTime: "string" },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
