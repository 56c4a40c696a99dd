import { ApiError, appPath, type Client } from './client';

/** The server's limit of inputs per `/execute/batch` request. */
export const MAX_BATCH = 1000;
/** Requests stay well under the server's default body limit (1 MiB); a 413 still splits a batch in two. */
const MAX_BATCH_BYTES = 512 * 1024;

export type ItemResult = Record<string, unknown> & { error?: { code: string; message: string } };

/** Splits inputs into batches of at most `size` inputs and about MAX_BATCH_BYTES of JSON. */
export function batches(inputs: unknown[], size = MAX_BATCH): unknown[][] {
  const out: unknown[][] = [];
  let current: unknown[] = [];
  let bytes = 0;
  for (const input of inputs) {
    const n = Buffer.byteLength(JSON.stringify(input)) + 1;
    if (current.length && (current.length >= size || bytes + n > MAX_BATCH_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(input);
    bytes += n;
  }
  if (current.length) out.push(current);
  return out;
}

async function executeBatch(client: Client, appId: string, inputs: unknown[]): Promise<ItemResult[]> {
  try {
    const { results } = await client.post<{ results: ItemResult[] }>(appPath(appId, 'execute', 'batch'), {
      inputs,
    });
    return results;
  } catch (err) {
    // a server with a smaller body limit: halve until it fits
    if (err instanceof ApiError && err.status === 413 && inputs.length > 1) {
      const half = Math.ceil(inputs.length / 2);
      return [
        ...(await executeBatch(client, appId, inputs.slice(0, half))),
        ...(await executeBatch(client, appId, inputs.slice(half))),
      ];
    }
    throw err;
  }
}

/**
 * Runs every input through `POST /loop-apps/{id}/execute/batch`, batch after batch, handing each batch's
 * results (in input order) to `onResults` as they arrive.
 */
export async function executeAll(
  client: Client,
  appId: string,
  inputs: unknown[],
  onResults: (results: ItemResult[]) => void,
  size = MAX_BATCH,
): Promise<void> {
  for (const batch of batches(inputs, size)) onResults(await executeBatch(client, appId, batch));
}
