/**
 * The exception class an error's stack trace or exception text names, for `error.type` when the
 * line gave none: most apps log an error as a message and a trace (Python's `exc_info`, structlog's
 * `exception`, Logback's `stack_trace`, winston's `stack`, .NET's `Exception`, Laravel's context,
 * the lines under a multi-line event's first), not as ECS's `error.type`. Without it a new kind of
 * failure in such an app is never news to `errors.new_error_type`.
 *
 * The trace is what the app wrote, so an attacker can shape it: only its first and last few
 * hundred characters are read, by anchored patterns with no nested repetition, and the name is
 * short by construction.
 */

/** How much of either end of a trace is read: the class is on its first line, or (Python) its last. */
const END_CHARS = 512;

/** A class name's namespace, if any: `java.lang.`, `System.`, PHP's `App\Exceptions\`. */
const NAMESPACE = String.raw`(?:[A-Za-z_$][\w$]{0,100}[.\\]){0,12}`;

/** A class name: dotted, with `$` in Java's nested classes. */
const CLASS = String.raw`${NAMESPACE}[A-Za-z_$][\w$]{0,100}`;

/**
 * The first line of a Java, .NET, JavaScript or PHP trace: `java.lang.IllegalStateException: boom`,
 * `Exception in thread "main" java.lang.…`, `System.InvalidOperationException: …`, `TypeError: …`,
 * `PHP Fatal error:  Uncaught RuntimeException: …`. Only names that end the way exception classes
 * do count (`Error` alone too), so a message that merely has a colon names nothing.
 */
export const FIRST_LINE_PATTERN = String.raw`^\s{0,20}(?:Exception in thread "[^"\n]{0,200}" |(?:PHP )?Fatal error: {1,4}Uncaught |Unhandled exception\. )?(${NAMESPACE}(?:[A-Za-z_$][\w$]{0,100})?(?:Exception|Error|Throwable|Fault|Failure|Panic))(?::|\s*$|\s+\(|\s+at\s)`;

/** Laravel's context: `[object] (PDOException(code: 2002): SQLSTATE… at /var/www/…:70)`. */
export const LARAVEL_PATTERN = String.raw`^\[object\] \((${CLASS})\(code: `;

/** Python: the trace ends with the exception, `ValueError: x` or `requests.exceptions.ConnectionError: …`, or a bare name. */
export const PYTHON_LAST_PATTERN = `^(${CLASS})(?::|$)`;

const FIRST_LINE_RE = new RegExp(FIRST_LINE_PATTERN);
const LARAVEL_RE = new RegExp(LARAVEL_PATTERN);
const PYTHON_LAST_RE = new RegExp(PYTHON_LAST_PATTERN);

const PYTHON_TRACEBACK = 'Traceback (most recent call last):';

/** The exception class the trace names, or undefined. */
export function exceptionType(trace: string): string | undefined {
  const head = trace.length > END_CHARS ? trace.slice(0, END_CHARS) : trace;
  const laravel = LARAVEL_RE.exec(head);
  if (laravel) return laravel[1];
  const traceback = head.indexOf(PYTHON_TRACEBACK);
  if (traceback !== -1) return pythonException(trace);
  const firstLine = FIRST_LINE_RE.exec(head);
  return firstLine?.[1];
}

/** The last line of a Python traceback that is not blank. */
function pythonException(trace: string): string | undefined {
  const tail = trace.length > END_CHARS ? trace.slice(-END_CHARS) : trace;
  const lines = tail.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    return PYTHON_LAST_RE.exec(line)?.[1];
  }
  return undefined;
}
