/**
 * Passwords on command lines, as sudo (`COMMAND=`), auditd's execve records, CI logs and shell
 * history log them: `mysql -pSECRET`, `sshpass -p SECRET`, `curl -u user:SECRET`, `htpasswd -b file
 * user SECRET`. Read in code
 * rather than by a regex: a pattern reaching from the command to its option backtracks
 * polynomially (recheck found it), while this reads each command's arguments once. The command
 * must come first, so another program's `-p` (a port: `ssh -p 2222`, `docker run -p 8080:80`)
 * stays.
 */

/** How a command takes a password: its option, and where the value is. */
interface PasswordOption {
  flag: string;
  /** `-pSECRET` (`--user=SECRET` for a long option): the value in the option's own argument. */
  attached: boolean;
  /** `-p SECRET`: the value is the next argument. */
  separate: boolean;
  /** Only what follows this in the value is secret (`user:SECRET`, `user%SECRET`); a value without it holds none. */
  after?: string;
  /** The value must start with `after` (openssl's `pass:SECRET`, where `env:` and `file:` only say where the secret is). */
  prefixed?: boolean;
  /** Only after this argument (`docker login -p SECRET`; `docker run -p 8080:80` is a port). */
  subcommand?: string;
}

const attachedOnly = (flag: string): PasswordOption[] => [{ flag, attached: true, separate: false }];
const either = (flag: string): PasswordOption[] => [{ flag, attached: true, separate: true }];
const separateOnly = (flag: string): PasswordOption[] => [{ flag, attached: false, separate: true }];
const registryLogin: PasswordOption[] = [
  { flag: '-p', attached: false, separate: true, subcommand: 'login' },
  { flag: '--password', attached: true, separate: true, subcommand: 'login' },
];
const opensslPass = ['-passin', '-passout', '-pass'].map((flag) => ({
  flag,
  attached: false,
  separate: true,
  after: 'pass:',
  prefixed: true,
}));

/**
 * The commands and their password options. MySQL's and MariaDB's clients (`mysqldump`,
 * `mysqladmin` …) take `-pSECRET` attached only: `-p` then a space prompts, and the next word is
 * the database.
 */
const PASSWORD_OPTIONS: ReadonlyMap<string, readonly PasswordOption[]> = new Map([
  ['mysql', attachedOnly('-p')],
  ['mariadb', attachedOnly('-p')],
  ['sshpass', either('-p')],
  // A crypt hash, crackable offline.
  ['useradd', either('-p')],
  ['usermod', either('-p')],
  ['mongo', separateOnly('-p')],
  ['mongosh', separateOnly('-p')],
  ['redis-cli', separateOnly('-a')],
  ['ldap', either('-w')],
  [
    'curl',
    [
      { flag: '-u', attached: true, separate: true, after: ':' },
      { flag: '--user', attached: true, separate: true, after: ':' },
    ],
  ],
  [
    'smbclient',
    [
      { flag: '-U', attached: true, separate: true, after: '%' },
      { flag: '--user', attached: true, separate: true, after: '%' },
    ],
  ],
  ['openssl', opensslPass],
  ['7z', attachedOnly('-p')],
  ['zip', separateOnly('-P')],
  ['docker', registryLogin],
  ['podman', registryLogin],
]);

/** A command's name as a program path ends (`/usr/bin/mysql`), not inside a word, a file name or a URL (`mongodb://`, `a.zip`). */
const PASSWORD_COMMANDS =
  /(?<![\w.-])(mysql[\w-]{0,16}|mariadb[\w-]{0,16}|sshpass|useradd|usermod|mongosh|mongo|redis-cli|ldap[a-z]{3,9}|curl|smbclient|openssl|7za?|zip|docker|podman|htpasswd)(?![\w.:-])/g;
/** Literals every command above holds, for the redactor's one scan of a line (src/alerts/redact.ts, ANY_NEEDED). */
export const COMMAND_LITERALS =
  'mysql|mariadb|sshpass|useradd|usermod|mongo|redis-cli|ldap|curl|smbclient|openssl|7z|zip|docker|podman|htpasswd';
/** Where a command's arguments end: a new line, a pipe, a list or background operator. */
const COMMAND_END = /[\n|;&]/g;
const ARGUMENT = /[^\s]+/g;

function optionsOf(command: string): readonly PasswordOption[] {
  if (command.startsWith('mysql')) return PASSWORD_OPTIONS.get('mysql') ?? [];
  if (command.startsWith('mariadb')) return PASSWORD_OPTIONS.get('mariadb') ?? [];
  if (command.startsWith('ldap')) return PASSWORD_OPTIONS.get('ldap') ?? [];
  if (command === '7za') return PASSWORD_OPTIONS.get('7z') ?? [];
  return PASSWORD_OPTIONS.get(command) ?? [];
}

/** Where in `arg` an option's attached value starts, or -1 (`-pSECRET`; `--user=SECRET` for a long option). */
function attachedValue(arg: string, option: PasswordOption): number {
  if (!option.attached) return -1;
  const long = option.flag.startsWith('--');
  const head = long ? `${option.flag}=` : option.flag;
  return arg.startsWith(head) && arg.length > head.length ? head.length : -1;
}

/** `text` with the password values of the commands it holds replaced by `replacement`. */
export function redactCommandLines(text: string, replacement: string): string {
  PASSWORD_COMMANDS.lastIndex = 0;
  const spans: [number, number][] = [];
  for (let m = PASSWORD_COMMANDS.exec(text); m !== null; m = PASSWORD_COMMANDS.exec(text)) {
    COMMAND_END.lastIndex = PASSWORD_COMMANDS.lastIndex;
    const end = COMMAND_END.exec(text)?.index ?? text.length;
    ARGUMENT.lastIndex = PASSWORD_COMMANDS.lastIndex;
    if (m[1] === 'htpasswd') {
      const span = htpasswdPassword(text, end, replacement);
      if (span) spans.push(span);
      PASSWORD_COMMANDS.lastIndex = Math.max(PASSWORD_COMMANDS.lastIndex, end);
      continue;
    }
    const options = optionsOf(m[1] ?? '');
    // The option whose value is the next argument (`-p SECRET`, `-u user:SECRET`).
    let pending: PasswordOption | undefined;
    // The subcommand its options wait for has come (`login`).
    let reached = false;
    for (let a = ARGUMENT.exec(text); a !== null && a.index < end; a = ARGUMENT.exec(text)) {
      const arg = a[0];
      if (!reached && !pending && options.some((o) => o.subcommand === arg)) {
        reached = true;
        continue;
      }
      let option = pending;
      // Where in the argument the value starts; -1: not in this one.
      let at = pending ? 0 : -1;
      pending = undefined;
      if (!option) {
        for (const o of options) {
          if (o.subcommand !== undefined && !reached) continue;
          at = attachedValue(arg, o);
          if (at !== -1) {
            option = o;
            break;
          }
          if (o.separate && arg === o.flag) pending = o;
        }
      }
      if (!option || at === -1) continue;
      if (option.after !== undefined) {
        const marker = arg.indexOf(option.after, at);
        if (marker === -1 || (option.prefixed && marker !== at)) continue;
        at = marker + option.after.length;
      }
      const span = valueSpan(text, a.index + at, end, replacement);
      if (!span) continue;
      spans.push(span);
      // A quoted value may hold spaces: its words are not arguments.
      ARGUMENT.lastIndex = Math.max(ARGUMENT.lastIndex, span[1]);
    }
    PASSWORD_COMMANDS.lastIndex = Math.max(PASSWORD_COMMANDS.lastIndex, end);
  }
  if (spans.length === 0) return text;
  let out = '';
  let at = 0;
  for (const [from, to] of spans) {
    out += `${text.slice(at, from)}${replacement}`;
    at = to;
  }
  return out + text.slice(at);
}

/** htpasswd's options that take the next argument as their value (a bcrypt cost, rounds). */
const HTPASSWD_VALUED = new Set(['-C', '-r']);

/**
 * `htpasswd -b [-c…] FILE USER PASSWORD` (`-nb USER PASSWORD` writes to standard output): the
 * password is a place among the arguments, not an option's value. Read from ARGUMENT's position
 * up to `end`; none without `-b`.
 */
function htpasswdPassword(text: string, end: number, replacement: string): [number, number] | undefined {
  let batch = false;
  let toStdout = false;
  const positional: number[] = [];
  let skipNext = false;
  for (let a = ARGUMENT.exec(text); a !== null && a.index < end; a = ARGUMENT.exec(text)) {
    const arg = a[0];
    if (skipNext) {
      skipNext = false;
      continue;
    }
    if (positional.length === 0 && arg.startsWith('-') && arg.length > 1) {
      if (HTPASSWD_VALUED.has(arg)) skipNext = true;
      else if (!arg.startsWith('--')) {
        batch ||= arg.includes('b');
        toStdout ||= arg.includes('n');
      }
      continue;
    }
    positional.push(a.index);
  }
  const at = positional[toStdout ? 1 : 2];
  return batch && at !== undefined ? valueSpan(text, at, end, replacement) : undefined;
}

/**
 * The value starting at `from`: inside its quotes when quoted (to the closing one, spaces and all),
 * else up to a space or a quote; none when it is empty or already replaced.
 */
function valueSpan(text: string, from: number, end: number, replacement: string): [number, number] | undefined {
  const quote = text[from];
  if (quote === "'" || quote === '"') {
    const close = text.indexOf(quote, from + 1);
    const to = close === -1 || close > end ? end : close;
    return to > from + 1 && !text.startsWith(replacement, from + 1) ? [from + 1, to] : undefined;
  }
  let to = from;
  while (to < end && !/[\s'"]/.test(text[to] as string)) to++;
  return to > from && !text.startsWith(replacement, from) ? [from, to] : undefined;
}
