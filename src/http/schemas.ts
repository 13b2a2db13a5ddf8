/** Schemas every resource shares: the error envelope, list parameters and list answers. */
import Type, { type TSchema } from 'typebox';

export const ErrorEnvelope = Type.Object(
  {
    error: Type.Object({
      type: Type.String(),
      code: Type.String(),
      message: Type.String(),
      param: Type.Optional(Type.String()),
      request_id: Type.String(),
    }),
  },
  { $id: 'Error', description: 'The error envelope every non-2xx answer carries' },
);

export const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    starting_after: Type.Optional(Type.String({ maxLength: 64 })),
    ending_before: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const IdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

export const Metadata = Type.Record(Type.String({ maxLength: 40 }), Type.String({ maxLength: 500 }), {
  maxProperties: 50,
  description: 'Up to 50 string key/value pairs for your own use',
});

export const Timestamp = Type.String({ format: 'date-time' });
export const NullableTimestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const listOf = (item: TSchema) =>
  Type.Object({ object: Type.Literal('list'), data: Type.Array(item), has_more: Type.Boolean() });

const errorRef = { $ref: 'Error#' };
/** Adds the error envelope for 4xx/5xx to a route's documented responses. */
export const withErrors = (ok: Record<number, TSchema>) => ({ ...ok, '4xx': errorRef, '5xx': errorRef });

export const list = <T>(data: T[], has_more: boolean) => ({ object: 'list' as const, data, has_more });

const SSE_FORMAT =
  'Server-Sent Events: each event has `id` (its sequence_number), `event` (its dotted type, e.g. run.output.delta) and `data` (the JSON event, with `type` and `sequence_number`); `:` heartbeats every 15 s; resumable with Last-Event-ID; ends after the terminal event, or with `event: error`';
const sseContent = { 'text/event-stream': { schema: { type: 'string', description: SSE_FORMAT } } };

/** A 200 that is always a text/event-stream (the route hijacks the reply and writes SSE). */
export const sseResponse = (description: string) => ({ description, content: sseContent }) as never;

/** A 200 that is JSON, or a text/event-stream when the request asks for one (`stream`, `Accept`). */
export const jsonOrSseResponse = (description: string, json: unknown) =>
  ({ description, content: { 'application/json': { schema: json }, ...sseContent } }) as never;
