import {
  checkExecutionId,
  checkLoopAppId,
  checkVersion,
  executionDay,
  executionId,
  isLoopAppId,
  versionNumber,
} from '../../src/domain/ids';

describe('Loop App ids', () => {
  test.each(['ab', 'spam-detector-001', '0-a', 'a'.repeat(63)])('%s is an id', (id) => {
    expect(isLoopAppId(id)).toBe(true);
    expect(checkLoopAppId(id)).toBe(id);
  });

  test.each([
    'a',
    '-ab',
    'Ab',
    'a_b',
    'a/b',
    '..',
    'a.b',
    '__proto__',
    'a'.repeat(64),
    '',
    7,
    null,
    undefined,
  ])('%p is refused before it can become a path', (id) => {
    expect(isLoopAppId(id)).toBe(false);
    expect(() => checkLoopAppId(id)).toThrow(expect.objectContaining({ status: 400, code: 'invalid_id' }));
  });

  test('a long refused id is shown cut short', () => {
    const long = 'X'.repeat(500);
    try {
      checkLoopAppId(long);
      throw new Error('not refused');
    } catch (err) {
      expect((err as { details: { id: string } }).details.id).toHaveLength(80);
    }
  });
});

describe('versions', () => {
  test('vN with N from 1 to nine digits', () => {
    expect(versionNumber('v1')).toBe(1);
    expect(versionNumber('v42')).toBe(42);
    expect(versionNumber('v999999999')).toBe(999_999_999);
    expect(checkVersion('v3')).toBe('v3');
  });

  test.each(['v0', 'v01', 'v1000000000', 'V1', 'v', '1', 'v1/', '../v1', 'active'])(
    '%s is no version',
    (name) => {
      expect(versionNumber(name)).toBeUndefined();
      expect(() => checkVersion(name)).toThrow(
        expect.objectContaining({ status: 400, code: 'invalid_version' }),
      );
    },
  );

  test('a version must be a string', () => {
    expect(() => checkVersion(3)).toThrow(expect.objectContaining({ code: 'invalid_version' }));
  });
});

describe('execution ids', () => {
  const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  test('a UUIDv7 whose time part is the moment it was made', () => {
    const now = Date.UTC(2025, 5, 1, 12, 30);
    const id = executionId(now);
    expect(id).toMatch(UUID_V7);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(now);
    expect(checkExecutionId(id)).toBe(id);
  });

  test('unique and in the order made within one millisecond, ordered across milliseconds', () => {
    const now = Date.now();
    const ids = Array.from({ length: 5000 }, () => executionId(now));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    const later = executionId(now + 1);
    expect(ids.every((id) => id < later)).toBe(true);
  });

  test('the id names the UTC day its execution ran', () => {
    expect(executionDay(executionId(Date.UTC(2025, 5, 1, 23, 59, 59, 999)))).toBe('2025-06-01');
    expect(executionDay(executionId(Date.UTC(2025, 5, 2)))).toBe('2025-06-02');
    expect(executionDay(executionId(Date.UTC(1970, 0, 1)))).toBe('1970-01-01');
  });

  test('any other id has no day', () => {
    expect(executionDay('0f8fad5b-d9cb-469f-a165-70867728950e')).toBeNull(); // a v4
    expect(executionDay('not-a-uuid')).toBeNull();
    expect(executionDay(executionId().toUpperCase())).toBeNull();
  });

  test.each(['', 'abc', 42, null, '0f8fad5b-d9cb-469f-a165-70867728950'])(
    '%p is not an execution id',
    (id) => {
      expect(() => checkExecutionId(id)).toThrow(
        expect.objectContaining({ status: 400, code: 'invalid_execution_id' }),
      );
    },
  );
});
