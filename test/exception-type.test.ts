import { describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { exceptionType, FIRST_LINE_PATTERN, LARAVEL_PATTERN, PYTHON_LAST_PATTERN } from '../src/parse/exception-type';
import { Normalizer } from '../src/parse/normalize';
import { checkRegexSafety } from '../src/rules/regex-safety';
import { normalizedLine, T0 } from './helpers';

const { pack } = loadPack(['rules'], { checkRegexes: false });
const normalizer = new Normalizer(pack.sources);
const norm = (line: string) => normalizedLine(normalizer, line, { logGroup: '/app/billing', timestamp: T0 }).event;

const PYTHON_TRACE = [
  'Traceback (most recent call last):',
  '  File "/app/pay.py", line 3, in charge',
  '    raise ValueError("card declined")',
  'ValueError: card declined',
].join('\n');

const JAVA_TRACE = [
  'java.lang.IllegalStateException: pool exhausted',
  '\tat com.example.db.Pool.take(Pool.java:42)',
  '\tat com.example.api.Orders.create(Orders.java:17)',
].join('\n');

describe('exceptionType: the class a trace names', () => {
  it.each([
    ['Python, last line', PYTHON_TRACE, 'ValueError'],
    [
      'Python, chained: the last exception',
      `${PYTHON_TRACE}\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File "/app/x.py", line 9, in y\nrequests.exceptions.ConnectionError: refused\n`,
      'requests.exceptions.ConnectionError',
    ],
    ['Python, a bare name', 'Traceback (most recent call last):\n  File "/a.py", line 1, in <module>\nStopIteration', 'StopIteration'],
    ['Java', JAVA_TRACE, 'java.lang.IllegalStateException'],
    ['Java, nested class', 'com.example.Outer$BadStateException: x\n\tat a.b(C.java:1)', 'com.example.Outer$BadStateException'],
    [
      'Java, uncaught in a thread',
      'Exception in thread "main" java.lang.NullPointerException\n\tat Main.main(Main.java:3)',
      'java.lang.NullPointerException',
    ],
    [
      '.NET',
      'System.InvalidOperationException: Sequence contains no elements\n   at System.Linq.ThrowHelper()',
      'System.InvalidOperationException',
    ],
    ['JavaScript', "TypeError: Cannot read properties of undefined (reading 'id')\n    at handler (/var/task/index.js:12:7)", 'TypeError'],
    ['JavaScript, a plain Error', 'Error: connect ECONNREFUSED 10.0.0.5:5432\n    at TCPConnectWrap.afterConnect', 'Error'],
    ['PHP, uncaught', 'PHP Fatal error:  Uncaught RuntimeException: disk full in /var/www/a.php:3', 'RuntimeException'],
    [
      'Laravel context',
      '[object] (PDOException(code: 2002): SQLSTATE[HY000] [2002] Connection refused at /var/www/vendor/x.php:70)',
      'PDOException',
    ],
    [
      'Laravel, namespaced',
      '[object] (Illuminate\\Database\\QueryException(code: 42S02): Table missing at /var/www/x.php:1)',
      'Illuminate\\Database\\QueryException',
    ],
  ])('%s', (_name, trace, type) => {
    expect(exceptionType(trace)).toBe(type);
  });

  it.each([
    ['a message with a colon', 'Note: the job finished'],
    ['a deployment stack name', 'production'],
    ['a word ending in Error inside a sentence', 'retrying after an Error occurred'],
    ['a Python traceback cut before its end', 'Traceback (most recent call last):\n  File "/a.py", line 1, in <module>\n    f()'],
    ['empty', ''],
  ])('names nothing for %s', (_name, text) => {
    expect(exceptionType(text)).toBeUndefined();
  });

  it('its patterns pass recheck (an attacker writes the trace), and a hostile trace is read quickly', () => {
    for (const pattern of [FIRST_LINE_PATTERN, LARAVEL_PATTERN, PYTHON_LAST_PATTERN])
      expect(checkRegexSafety(pattern)).toMatchObject({ safe: true });
    // Long runs of what the class patterns repeat, with no end they accept.
    const hostile = [
      `${'a.'.repeat(200_000)}!`,
      `${'aError'.repeat(100_000)}!`,
      `[object] (${'a\\'.repeat(100_000)}`,
      `Traceback (most recent call last):\n${'a.'.repeat(200_000)}!`,
    ];
    const started = process.hrtime.bigint();
    for (const text of hostile) expect(exceptionType(text)).toBeUndefined();
    // Each reads at most 512 characters from either end: far under a millisecond, asserted loosely.
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(500);
  });
});

describe('error.type from the trace a logger wrote, when the line names none', () => {
  it.each([
    [
      'structlog (its message is `event`)',
      `{"event":"payment failed","level":"error","timestamp":"2025-03-03T10:00:00Z","exception":${JSON.stringify(PYTHON_TRACE)}}`,
      'ValueError',
      'payment failed',
    ],
    [
      'python-json-logger',
      `{"asctime":"2025-03-03 10:00:00,118","levelname":"ERROR","message":"payment failed","exc_info":${JSON.stringify(PYTHON_TRACE)}}`,
      'ValueError',
      'payment failed',
    ],
    [
      'Logback (logstash encoder)',
      `{"@timestamp":"2025-03-03T10:00:00Z","level":"ERROR","message":"order failed","stack_trace":${JSON.stringify(JAVA_TRACE)}}`,
      'java.lang.IllegalStateException',
      'order failed',
    ],
    [
      'Log4j2 JsonLayout',
      '{"level":"ERROR","message":"order failed","thrown":{"name":"java.sql.SQLException","message":"timeout"}}',
      'java.sql.SQLException',
      'order failed',
    ],
    [
      'winston (errors format)',
      '{"level":"error","message":"boom","stack":"TypeError: boom\\n    at f (/app/a.js:1:1)"}',
      'TypeError',
      'boom',
    ],
    [
      'bunyan',
      '{"level":50,"msg":"boom","err":{"name":"RangeError","message":"boom","stack":"RangeError: boom\\n    at g"}}',
      'RangeError',
      'boom',
    ],
    [
      '.NET console formatter',
      '{"Timestamp":"2025-03-03T10:00:00Z","LogLevel":"Error","Message":"order failed","Exception":"System.TimeoutException: The operation has timed out.\\n   at Orders.Create()"}',
      'System.TimeoutException',
      'order failed',
    ],
    [
      'Serilog compact JSON',
      '{"@t":"2025-03-03T10:00:00Z","@l":"Error","@mt":"order failed","@x":"System.IO.IOException: disk\\n   at X.Y()"}',
      'System.IO.IOException',
      'order failed',
    ],
  ])('%s', (_name, line, type, message) => {
    const e = norm(line);
    expect(e['error.type']).toBe(type);
    expect(e.message).toBe(message);
    expect(e['log.level']).toBe('error');
  });

  it('a multi-line text event: the trace under its first line', () => {
    const java = norm(`2025-03-03 10:00:00.118 ERROR 1 --- [nio-8080-exec-1] c.e.api.Orders : order failed\n${JAVA_TRACE}`);
    expect(java['error.type']).toBe('java.lang.IllegalStateException');
    const python = norm(`2025-03-03 10:00:00,118 ERROR billing payment failed\n${PYTHON_TRACE}`);
    expect(python['error.type']).toBe('ValueError');
  });

  it("the line's own error.type wins, and a value that is no trace names nothing", () => {
    expect(
      norm(`{"level":"error","message":"x","error.type":"TimeoutError","stack_trace":${JSON.stringify(JAVA_TRACE)}}`)['error.type'],
    ).toBe('TimeoutError');
    const stackName = norm('{"level":"info","message":"deployed","stack":"production"}');
    expect(stackName['error.type']).toBeUndefined();
    // ECS's own `event` object is its fields, never the message.
    const ecs = norm('{"@timestamp":"2025-03-03T10:00:00Z","message":"denied","event":{"action":"login","outcome":"failure"}}');
    expect(ecs).toMatchObject({ message: 'denied', 'event.action': 'login', 'event.outcome': 'failure' });
  });
});
