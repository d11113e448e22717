import { afterAll, describe, expect, it, vi } from 'vitest';
import { disablePretenuring, NO_PRETENURING_FLAG, PRETENURING_ENV } from '../src/runtime/v8-heap';
import { loadDetectorHandler } from './handler-harness';

// The real setter is replaced here: this worker's V8 keeps its flags, and the tests see each call.
const v8Flags = vi.hoisted(() => ({ set: vi.fn<(flags: string) => void>() }));
vi.mock('node:v8', async (original) => ({ ...(await original<typeof import('node:v8')>()), setFlagsFromString: v8Flags.set }));

describe('the V8 heap setting of the processes that run the hot path', () => {
  it('turns allocation-site pretenuring off by default', () => {
    const set = vi.fn<(flags: string) => void>();
    expect(disablePretenuring({}, set)).toBe(true);
    expect(set).toHaveBeenCalledExactlyOnceWith(NO_PRETENURING_FLAG);
  });

  it(`keeps V8's default when ${PRETENURING_ENV} is on (any case, spaces around it)`, () => {
    for (const value of ['on', ' ON ', 'On']) {
      const set = vi.fn<(flags: string) => void>();
      expect(disablePretenuring({ [PRETENURING_ENV]: value }, set)).toBe(false);
      expect(set).not.toHaveBeenCalled();
    }
    const set = vi.fn<(flags: string) => void>();
    expect(disablePretenuring({ [PRETENURING_ENV]: 'off' }, set)).toBe(true);
    expect(set).toHaveBeenCalledOnce();
  });

  it('a runtime that refuses the flag leaves the process on the default instead of failing its start', () => {
    const refusing = () => {
      throw new Error('flags are frozen');
    };
    expect(disablePretenuring({}, refusing)).toBe(false);
  });

  describe('where it is applied', () => {
    let close: (() => Promise<void>) | undefined;
    afterAll(async () => close?.());

    it('the detector function sets it on its cold start', async () => {
      v8Flags.set.mockClear();
      const h = await loadDetectorHandler();
      close = () => h.db.close();
      expect(v8Flags.set).toHaveBeenCalledWith(NO_PRETENURING_FLAG);
    });

    it('the CLI sets it before running a command', async () => {
      v8Flags.set.mockClear();
      const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      try {
        const { main } = await import('../src/cli/main');
        await main(['node', 'detect', 'validate', 'rules']);
      } finally {
        stderr.mockRestore();
      }
      expect(v8Flags.set).toHaveBeenCalledWith(NO_PRETENURING_FLAG);
    });
  });
});
