/** The exit codes of `loopai`, so scripts can tell what went wrong without reading the message. */
export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  unreachable: 3,
  notFound: 4,
  rejected: 5,
  auth: 6,
  jobFailed: 7,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Shown at the end of `loopai --help`. */
export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  unexpected error (including a 5xx answer from the server)
  2  usage error: unknown command or option, bad argument, a file that cannot be read or parsed
  3  server unreachable (connection refused, no answer within --timeout)
  4  not found (404: no such Loop App, version or job)
  5  input rejected by the server (other 4xx: schema or validation errors, conflicts);
     also \`exec --file\` when any input got an error
  6  authentication or permission (401, 403): check --key / LOOPAI_API_KEY
  7  job failed (generation or improvement)`;

/** An error with the exit code it means; its message is printed on stderr. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** Printed under the message (e.g. the rows a server rejected). */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);

/** The exit code of an HTTP error status. */
export function exitCodeOfStatus(status: number): ExitCode {
  if (status === 404) return EXIT.notFound;
  if (status === 401 || status === 403) return EXIT.auth;
  if (status >= 400 && status < 500) return EXIT.rejected;
  return EXIT.unexpected;
}
