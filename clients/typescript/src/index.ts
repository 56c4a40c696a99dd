export { LoopaiClient, DEFAULT_BASE_URL } from './client';
export type {
  LoopaiClientOptions,
  SharedArtifactRef,
  UploadExamplesOptions,
  WaitForJobOptions,
} from './client';
export type { FetchLike, RequestOptions } from './transport';
export {
  LoopaiError,
  AuthenticationError,
  PermissionError,
  NotFoundError,
  ValidationError,
  RateLimitError,
  UnavailableError,
  ServerError,
  TimeoutError,
  ConnectionError,
} from './errors';
export type { LoopaiErrorInit } from './errors';
export type * from './types';
