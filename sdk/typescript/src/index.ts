/**
 * The AIRMY TypeScript SDK.
 *
 *   import Airmy from '…/sdk/typescript';
 *   const client = new Airmy({ apiKey: process.env.AIRMY_API_KEY, caFile: '.airmy/tls/ca.pem' });
 *   const run = await client.runs.create({ agent_id: 'ag_01HXYZ', input: { query: 'Q1?' } });
 */
import { Airmy } from './client.ts';

export { Airmy, type ClientOptions, DEFAULT_BASE_URL } from './client.ts';
export * from './core/errors.ts';
export { Page, PagePromise } from './core/pagination.ts';
export type { RequestOptions, WithRequestID } from './core/request.ts';
export { EventStream } from './core/stream.ts';
export type { Fetch } from './core/transport.ts';
export { isFinalDeploymentEvent } from './resources/deployments.ts';
export { isTerminalPipelineEvent } from './resources/pipelines.ts';
export { isTerminalRunEvent, type WaitOptions } from './resources/runs.ts';
export type * from './types.ts';
export { VERSION } from './version.ts';
export default Airmy;
