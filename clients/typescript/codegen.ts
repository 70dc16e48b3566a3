import type { CodegenConfig } from '@graphql-codegen/cli';

// Every custom scalar is mapped (strictScalars): Date is "YYYY-MM-DD" and
// DateTime an RFC 3339 string, both kept as strings.
const shared = {
  strictScalars: true,
  scalars: { Date: 'string', DateTime: 'string' },
  enumsAsTypes: true,
  useTypeImports: true,
};

// The schema's types (typescript) and the types of the operations in
// operations/ (typescript-operations): the README tour's operations, extracted
// by `go test ./server -run TestTypeScriptOperationsMatchReadme -update-operations`,
// against the published schema at the repository's root.
const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: 'operations/*.graphql',
  generates: {
    'src/generated/schema.ts': {
      plugins: ['typescript'],
      config: shared,
    },
    'src/generated/operations.ts': {
      plugins: ['typescript-operations'],
      config: { ...shared, importSchemaTypesFrom: 'src/generated/schema.ts', namespacedImportName: 'Schema' },
    },
  },
};

export default config;
