import fs from 'node:fs';
import path from 'node:path';
import { loadSettings } from '../src/settings';
import { tmpDataDir } from './helpers/apps';

describe('settings', () => {
  const file = (text: string) => {
    const f = path.join(tmpDataDir(), 'loopai.yaml');
    fs.writeFileSync(f, text);
    return f;
  };

  test('file values, then environment variables, then explicit overrides', () => {
    const config = file('port: 9000\nmax_body_bytes: 2048\nllm: {model: from-file}\n');
    const s = loadSettings(
      { max_body_bytes: 4096 },
      {
        LOOPAI_CONFIG: config,
        LOOPAI_PORT: '9100',
        LOOPAI_DATA_DIR: 'some/dir',
        LOOPAI_LLM_MODEL: 'from-env',
      },
    );
    expect(s.port).toBe(9100);
    expect(s.max_body_bytes).toBe(4096);
    expect(s.llm.model).toBe('from-env');
    expect(s.llm.timeout_ms).toBe(60000); // defaults kept inside a partly given section
    expect(path.isAbsolute(s.data_dir)).toBe(true);
  });

  test('an LLM is configured by OPENAI_API_KEY and OPENAI_BASE_URL', () => {
    const s = loadSettings(
      {},
      { LOOPAI_CONFIG: file(''), OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1' },
    );
    expect(s.llm).toMatchObject({ api_key: 'k', base_url: 'http://127.0.0.1:11434/v1' });
  });

  test('invalid settings are refused with what is wrong', () => {
    expect(() => loadSettings({}, { LOOPAI_CONFIG: file('port: lots\nunknown_key: 1\n') })).toThrow(
      /port.*integer|additional/,
    );
    expect(() => loadSettings({}, { LOOPAI_CONFIG: file('- a list\n') })).toThrow(/mapping/);
  });
});
