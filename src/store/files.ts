import fsp from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';

/** Write-temp-then-rename, so a reader or a crash never sees half a file. */
export async function writeAtomic(file: string, data: string): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, data);
}

/**
 * Points `link` at `target` (a relative name) atomically: a new link beside it, then a rename over the old one.
 * Readers see either the old or the new target, never a missing link.
 */
export async function swapSymlink(link: string, target: string): Promise<void> {
  const tmp = `${link}.tmp-${process.pid}-${Date.now()}`;
  await fsp.symlink(target, tmp);
  try {
    await fsp.rename(tmp, link);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

export async function readLinkOrNull(link: string): Promise<string | null> {
  try {
    return await fsp.readlink(link);
  } catch (err) {
    if (
      (err as NodeJS.ErrnoException).code === 'ENOENT' ||
      (err as NodeJS.ErrnoException).code === 'EINVAL'
    ) {
      return null;
    }
    throw err;
  }
}

export async function readTextOrNull(file: string): Promise<string | null> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Largest single write: each write() holds only whole lines, so a crash between writes tears no line. */
const MAX_WRITE_BYTES = 256 * 1024;

/**
 * Appends records as JSON lines. Lines go out in write calls of whole lines (Node's appendFile would split a
 * large buffer anywhere), so a `kill -9` between two writes leaves only complete lines on disk.
 */
export async function appendLines(file: string, records: unknown[]): Promise<void> {
  if (records.length === 0) return;
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const handle = await fsp.open(file, 'a');
  try {
    let chunk: string[] = [];
    let size = 0;
    const flush = async () => {
      if (chunk.length) await handle.write(chunk.join(''));
      chunk = [];
      size = 0;
    };
    for (const record of records) {
      const line = JSON.stringify(record) + '\n';
      if (size + line.length > MAX_WRITE_BYTES) await flush();
      chunk.push(line);
      size += line.length;
    }
    await flush();
  } finally {
    await handle.close();
  }
}

/** Parses JSONL text, skipping blank lines and a torn line (a crash mid-append carries nothing whole). */
function parseLines<T>(text: string): T[] {
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // a torn line
    }
  }
  return out;
}

export async function readJsonl<T>(file: string): Promise<T[]> {
  return parseLines<T>((await readTextOrNull(file)) ?? '');
}

/** The last `limit` records of a JSONL file, read from its end in blocks (a day of executions can be large). */
export async function readLastJsonl<T>(file: string, limit: number): Promise<T[]> {
  const handle = await fsp.open(file, 'r').catch(() => null);
  if (!handle) return [];
  try {
    const { size } = await handle.stat();
    let start = size;
    const blocks: Buffer[] = [];
    let newlines = 0;
    while (start > 0 && newlines <= limit) {
      const length = Math.min(64 * 1024, start);
      start -= length;
      const block = Buffer.alloc(length);
      await handle.read(block, 0, length, start);
      blocks.unshift(block);
      for (const byte of block) if (byte === 0x0a) newlines += 1;
    }
    // bytes are joined before decoding, so no character is split; the first line may be cut by the block edge
    const text = Buffer.concat(blocks).toString('utf8');
    return parseLines<T>(start > 0 ? text.slice(text.indexOf('\n') + 1) : text).slice(-limit);
  } finally {
    await handle.close();
  }
}

/**
 * A crash in the middle of an append can leave a last line without its newline. Cutting such a tail before the
 * first append to a file in this process keeps every line parseable.
 */
export async function repairTornTail(file: string): Promise<void> {
  const handle = await fsp.open(file, 'r+').catch(() => null);
  if (!handle) return;
  try {
    const { size } = await handle.stat();
    if (size === 0) return;
    const tailSize = Math.min(size, 1 << 20);
    const tail = Buffer.alloc(tailSize);
    await handle.read(tail, 0, tailSize, size - tailSize);
    if (tail[tailSize - 1] === 0x0a) return;
    const lastNewline = tail.lastIndexOf(0x0a);
    await handle.truncate(lastNewline < 0 ? size - tailSize : size - tailSize + lastNewline + 1);
  } finally {
    await handle.close();
  }
}

/**
 * The whole lines of a JSONL file from byte `offset` on, and the offset after the last of them: a reader that
 * remembers it reads each line once, and a line still being written is left for next time.
 */
export async function readJsonlFrom<T>(
  file: string,
  offset: number,
  maxBytes = 64 * 1024 * 1024,
): Promise<{ records: T[]; next: number }> {
  const handle = await fsp.open(file, 'r').catch(() => null);
  if (!handle) return { records: [], next: offset };
  try {
    const { size } = await handle.stat();
    // a file that shrank was replaced (or cut by torn-tail repair): start it again
    const from = size < offset ? 0 : offset;
    const length = Math.min(size - from, maxBytes);
    if (length <= 0) return { records: [], next: from };
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, from);
    const end = buffer.lastIndexOf(0x0a) + 1;
    return { records: parseLines<T>(buffer.subarray(0, end).toString('utf8')), next: from + end };
  } finally {
    await handle.close();
  }
}

/** Size of a file in bytes, 0 when it does not exist. */
export async function fileSize(file: string): Promise<number> {
  return (await fsp.stat(file).catch(() => null))?.size ?? 0;
}
