/**
 * Connector request and response schemas. A connector is one of:
 *   - `http`: an endpoint the model may call. `url` is a template whose `{{param}}` placeholders
 *     are filled from the tool input (URL-encoded); `input_schema` is the JSON Schema of that input;
 *     header values and the URL may reference write-only secrets as `{{secrets.NAME}}`.
 *   - `mcp`: a remote MCP server over streamable HTTP at `url`; its tools are offered to the model.
 *   - `builtin` (read-only, public, listed for every organization): http_fetch, calculator, current_time.
 * Secrets are write-only: a response names them (`secrets: ["API_TOKEN"]`), never shows a value.
 */
import Type, { type Static } from 'typebox';
import { documentedAs } from '../http/openapi-doc.ts';
import { Metadata, NullableTimestamp } from '../http/schemas.ts';

export const ConnectorKinds = ['http', 'mcp'] as const;
export const HttpMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

const fields = {
  name: Type.String({
    minLength: 1,
    maxLength: 64,
    pattern: '^[A-Za-z][A-Za-z0-9_-]*$',
    description: 'The tool name the model sees: letters, digits, _ and -; unique in the organization',
  }),
  description: Type.Union([Type.String({ maxLength: 2000 }), Type.Null()], {
    description: 'What the tool does, for the model (required for http connectors)',
  }),
  url: Type.String({
    minLength: 1,
    maxLength: 2048,
    description: 'http: URL template with {{param}} placeholders; mcp: the server URL',
  }),
  method: Type.Union(
    HttpMethods.map((m) => Type.Literal(m)),
    { description: 'http only; default GET' },
  ),
  input_schema: Type.Record(Type.String(), Type.Unknown(), {
    description: 'http only: JSON Schema (type object) of the tool input',
  }),
  headers: Type.Record(Type.String({ maxLength: 100 }), Type.String({ maxLength: 4096 }), {
    maxProperties: 32,
    description: 'Request headers; values may reference secrets as {{secrets.NAME}}',
  }),
  metadata: Metadata,
};

const SecretName = Type.String({ maxLength: 64 });

const CreateConnectorLoose = Type.Object(
  {
    name: fields.name,
    kind: Type.Union(ConnectorKinds.map((k) => Type.Literal(k))),
    description: Type.Optional(fields.description),
    url: fields.url,
    method: Type.Optional(fields.method),
    input_schema: Type.Optional(fields.input_schema),
    headers: Type.Optional(fields.headers),
    secrets: Type.Optional(
      Type.Record(SecretName, Type.String({ minLength: 1, maxLength: 8192 }), {
        maxProperties: 32,
        description: 'Write-only credentials, encrypted at rest, referenced as {{secrets.NAME}}',
      }),
    ),
    metadata: Type.Optional(fields.metadata),
  },
  { additionalProperties: false },
);

const SecretValues = Type.Record(SecretName, Type.String({ minLength: 1, maxLength: 8192 }), {
  maxProperties: 32,
  description: 'Write-only credentials, encrypted at rest, referenced as {{secrets.NAME}}',
});
const strict = { additionalProperties: false } as const;

/**
 * Validated loosely here and per kind by the service (422 `invalid_for_kind`, `parameter_missing`
 * with the field). Documented as every field (what a generator that ignores `oneOf` builds) plus
 * one `oneOf` branch per kind, told apart by `kind`: http needs a description, mcp takes no
 * method and no input_schema.
 */
export const CreateConnector = documentedAs(CreateConnectorLoose, {
  ...Type.Object(
    {
      name: fields.name,
      kind: Type.Union(ConnectorKinds.map((k) => Type.Literal(k))),
      description: Type.Optional(fields.description),
      url: fields.url,
      method: Type.Optional(fields.method),
      input_schema: Type.Optional(fields.input_schema),
      headers: Type.Optional(fields.headers),
      secrets: Type.Optional(SecretValues),
      metadata: Type.Optional(fields.metadata),
    },
    strict,
  ),
  oneOf: [
    {
      title: 'HttpConnectorCreate',
      properties: {
        kind: { const: 'http' },
        description: Type.String({
          minLength: 1,
          maxLength: 2000,
          description: 'What the tool does, for the model',
        }),
      },
      required: ['kind', 'description'],
    },
    {
      title: 'McpConnectorCreate',
      properties: { kind: { const: 'mcp' }, method: false, input_schema: false },
      required: ['kind'],
    },
  ],
  discriminator: { propertyName: 'kind' },
});
export type CreateConnectorBody = Static<typeof CreateConnector>;

export const UpdateConnector = Type.Object(
  {
    name: Type.Optional(fields.name),
    description: Type.Optional(fields.description),
    url: Type.Optional(fields.url),
    method: Type.Optional(fields.method),
    input_schema: Type.Optional(fields.input_schema),
    headers: Type.Optional(fields.headers),
    secrets: Type.Optional(
      Type.Record(SecretName, Type.Union([Type.String({ minLength: 1, maxLength: 8192 }), Type.Null()]), {
        maxProperties: 32,
        description: 'Merged into the stored secrets: a string sets one, null removes it',
      }),
    ),
    metadata: Type.Optional(fields.metadata),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateConnectorBody = Static<typeof UpdateConnector>;

export const Connector = Type.Object(
  {
    id: Type.String({ description: 'conn_… for your connectors; the name for built-ins' }),
    object: Type.Literal('connector'),
    name: Type.String(),
    kind: Type.Union([Type.Literal('http'), Type.Literal('mcp'), Type.Literal('builtin')]),
    public: Type.Boolean({
      description: 'true for built-ins; your connectors are private to your organization',
    }),
    description: Type.Union([Type.String(), Type.Null()]),
    url: Type.Union([Type.String(), Type.Null()]),
    method: Type.Union([Type.String(), Type.Null()]),
    input_schema: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    headers: Type.Record(Type.String(), Type.String()),
    secrets: Type.Array(Type.String(), {
      description: 'The names of the stored secrets (values are never returned)',
    }),
    metadata: Type.Record(Type.String(), Type.String()),
    created_at: NullableTimestamp,
    updated_at: NullableTimestamp,
  },
  { $id: 'Connector' },
);
