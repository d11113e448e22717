import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectionTitle, renderTitle } from '../src/alerts/build';
import { redactCommandLines } from '../src/alerts/command-line-secrets';
import { emailBody, snsMessage, subjectFor } from '../src/alerts/notification';
import { CHECK_GROUPS, REDACTED, REDACTION_PATTERNS, redact } from '../src/alerts/redact';
import { loadPack } from '../src/cli/load-pack';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import { newOpenEvent } from '../src/parse/event-record';
import { Normalizer } from '../src/parse/normalize';
import { redactTypedPasswords } from '../src/parse/typed-password';
import { checkRegexSafety } from '../src/rules/regex-safety';
import { rule } from './helpers';

const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

const SECRETS = [
  ['password=hunter2&user=a', 'hunter2'],
  ['{"username":"admin","password":"Winter2025!"}', 'Winter2025!'],
  ['{"db_password": "pg-Secr3t"}', 'pg-Secr3t'],
  ['{"newPassword":"N3wPass!"}', 'N3wPass!'],
  ['{"new-password": "kebab-pw-1"}', 'kebab-pw-1'],
  ['{"clientSecret":"cs_9f8e7d6c"}', 'cs_9f8e7d6c'],
  ['{"refresh_token":"rt.abc.def"}', 'rt.abc.def'],
  ['{"x-api-key":"k-123456"}', 'k-123456'],
  ['{"apiKey":"ak_live_zzz"}', 'ak_live_zzz'],
  ['{"private_key":"-----BEGIN KEY-----"}', '-----BEGIN KEY-----'],
  ['{"credentials":"user:pw"}', 'user:pw'],
  ['"SecretAccessKey": "ZYXWVUTSRQPONMLKJIHGFEDCBA0123456789abcd"', 'ZYXWVUTSRQPONMLKJIHGFEDCBA0123456789abcd'],
  [
    '{"Credentials":{"AccessKeyId":"ASIAIOSFODNN7EXAMPLE","SecretAccessKey":"abcDEF/123+ghiJKLmnoPQRstuVWXyz0123456789","SessionToken":"FQoGZXIvYXdzE"}}',
    'FQoGZXIvYXdzE',
  ],
  ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_abcdef', 'eyJhbGciOiJIUzI1NiJ9'],
  ['key AKIAIOSFODNN7EXAMPLE used', 'AKIAIOSFODNN7EXAMPLE'],
  [`aws_secret_access_key=${AWS_SECRET}`, AWS_SECRET],
  [`export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE; the secret is ${AWS_SECRET} ok`, AWS_SECRET],
  [`AKIAIOSFODNN7EXAMPLE ${AWS_SECRET}`, AWS_SECRET],
  ['Cookie: laravel_session=abc123def456; theme=dark', 'abc123def456'],
  ['GET /x?PHPSESSID=s3cr3tsess HTTP/1.1', 's3cr3tsess'],
  ['token ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'],
  ['postgres://app:dbpass99@db:5432/x', 'dbpass99'],
  ['mysql -u root --password s3cr3t-pw', 's3cr3t-pw'],
  ['u1 ran: mysql --password ON#_.%..0_+', 'ON#_.%..0_+'], // starts with a prose word ("on")
  ['login password="correct horse battery" user=bob', 'horse battery'],
  ["db password='pa ss,w0rd' host=x", 'ss,w0rd'],
  ['{"msg":"connect password=\\"hunter two\\" ok"}', 'two'],
  ['password=Summer,2025! user=bob', '2025!'],
  ['mysql --password Ab1,cd;;ef gh', 'cd;;ef'],
  ['{"headers":{"authorization":"Basic dXNlcjpwYXNz","host":"x"}}', 'dXNlcjpwYXNz'],
  ['{"headers":{"Cookie":"sid=s3ss10n; theme=dark"}}', 's3ss10n'],
  ['Authorization: 3f9a1c0e5b7d2468ace0', '3f9a1c0e5b7d2468ace0'],
  ['POST https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX 200', 'XXXXXXXXXXXXXXXXXXXXXXXX'],
  ['POST https://discord.com/api/webhooks/123456789/abcDEF-123_xyz', 'abcDEF-123_xyz'],
  ['maps key=AIzaSyA1234567890abcdefghijklmnopqrstuv used', 'AIzaSyA1234567890abcdefghijklmnopqrstuv'],
  ['calling with sk-proj-abcdefghijklmnopqrstuvwxyz0123', 'sk-proj-abcdefghijklmnopqrstuvwxyz0123'],
  ['git clone https://oauth2:glpat-abcdefghij1234567890@gitlab.example.com/x.git', 'glpat-abcdefghij1234567890'],
  ['npm config set _authToken npm_abcdefghijklmnopqrstuvwxyz0123456789', 'npm_abcdefghijklmnopqrstuvwxyz0123456789'],
  ['redis://:p4ssw0rd@cache:6379', 'p4ssw0rd'],
  ['slack app token xapp-1-A0123456789-abcdef', 'xapp-1-A0123456789-abcdef'],
  ['mysql --password is.9xQ!', 'is.9xQ!'],
  ['login: user=bob pass hunter2!', 'hunter2!'],
  ['connect pwd=Zx9_pwd', 'Zx9_pwd'],
  // A path-like value is a secret unless it is sudo's working directory (` ; ` after it).
  ['connect pwd=/Zx9_pwd', '/Zx9_pwd'],
  ['sudo: a : TTY=pts/1 ; PWD=/home/a ; USER=root ; COMMAND=/usr/bin/mysql --password=Zx9!q', 'Zx9!q'],
  ['DB_PASSWORD: Pr0d-pass', 'Pr0d-pass'],
  ['api_key=sk_live_0123456789abcdefABCD', 'sk_live_0123456789abcdefABCD'],
  ['{"headers":[{"name":"Host","value":"x"},{"name":"Authorization","value":"Basic dXNlcjpwYXNz"}]}', 'dXNlcjpwYXNz'],
  ['{"headers":[{"name":"cookie","value":"sid=abc123; theme=dark"}]}', 'sid=abc123'],
  // SQL in database audit logs (MySQL's audit record quotes the statement and escapes its quotes).
  [
    "20250303 04:10:01,ip-10-0-0-1,admin,10.0.0.5,43,7,QUERY,mysql,'CREATE USER \\'bob\\'@\\'%\\' IDENTIFIED BY \\'S3cret-db!\\'',0",
    'S3cret-db!',
  ],
  ["ALTER USER 'app'@'%' IDENTIFIED WITH caching_sha2_password BY 'N3w-Pa55 word'", 'Pa55 word'],
  ["CREATE USER u IDENTIFIED BY 'it''s s3cret'", 's3cret'],
  ["SET PASSWORD FOR 'app'@'%' = 'Zq9!x'", 'Zq9!x'],
  ["SET PASSWORD = PASSWORD('0ldSch00l')", '0ldSch00l'],
  ["ALTER ROLE app WITH ENCRYPTED PASSWORD 'md5abc123'", 'md5abc123'],
  // Vendor tokens by their prefixes.
  ['mail via SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG sent', 'abcdefghijklmnopqrstuv'],
  ['shopify shpat_abcdef0123456789abcdef0123456789 ok', 'abcdef0123456789abcdef0123456789'],
  ['hub login hf_abcdefghijklmnopqrstuvwxyzABCDEFGH', 'hf_abcdefghijklmnopqrstuvwxyzABCDEFGH'],
  ['twine upload pypi-AgEIcHlwaS5vcmcCJGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6MDEy', 'CJGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6MDEy'],
  ['docker login -p dckr_pat_abcdefghijklmnopqrstuvwxyz0', 'dckr_pat_abcdefghijklmnopqrstuvwxyz0'],
  ['push github_pat_11ABCDEFG0abcdefghijklmnop_abcdefghijklmnopqrstuvwxyz0123456789', 'github_pat_11ABCDEFG0abcdefghijklmnop'],
  [
    'sops AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ',
    'QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ',
  ],
  // Connection strings and signed URLs.
  [
    'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=abcdEFGH0123456789+/abcdEFGH0123456789==;EndpointSuffix=core.windows.net',
    'abcdEFGH0123456789+/abcdEFGH0123456789==',
  ],
  ['Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA=', 'Zm9vYmFyYmF6cXV4'],
  [
    'GET /bucket/obj?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature=abcdef0123456789abcdef0123456789 HTTP/1.1',
    'abcdef0123456789abcdef0123456789',
  ],
  ['GET /c/blob.txt?sv=2021-06-08&sp=rl&sig=abcdEFGHijkl%2BMNOP%3D HTTP/1.1', 'abcdEFGHijkl'],
  ['GET /o?X-Goog-Signature=0123456789abcdef0123 HTTP/1.1', '0123456789abcdef0123'],
  ['GET /v.mp4?Expires=1735689600&Signature=AbC~dEf-GhI_jKl&Key-Pair-Id=K2ABC HTTP/1.1', 'AbC~dEf-GhI_jKl'],
  ['Proxy-Authorization: Basic dXNlcjpwYXNzd29yZA==', 'dXNlcjpwYXNzd29yZA=='],
  // Passwords on command lines (sudo's COMMAND=, auditd's execve, shell history).
  ['sudo: deploy : TTY=pts/1 ; PWD=/srv ; USER=root ; COMMAND=/usr/bin/mysql -u root -phunter2x -h db', 'hunter2x'],
  ["COMMAND=/usr/bin/mysqldump -u app -p'pa ss' orders", 'pa ss'],
  ['sshpass -p Tr0ub4dor ssh root@10.0.0.5', 'Tr0ub4dor'],
  ['useradd -m -p $6$saltsalt$abcdefghijklmnopqrstuvwxyz0123 bob', 'abcdefghijklmnopqrstuvwxyz0123'],
  ['curl -s -u admin:hunter2y https://api.example.com', 'hunter2y'],
  ['curl --user=ci:t0k3n-v4lue https://api.example.com', 't0k3n-v4lue'],
  ['mongosh --host db -u admin -p M0ngo-pass', 'M0ngo-pass'],
  ['redis-cli -h cache -a R3dis-pass ping', 'R3dis-pass'],
  ['ldapsearch -x -D cn=admin,dc=example,dc=com -w Ld4p-pass -b dc=example,dc=com', 'Ld4p-pass'],
  ['ldapmodify -D cn=admin -wLd4p-pass2 -f change.ldif', 'Ld4p-pass2'],
  ['smbclient //fs/share -U backup%Smb-pass1', 'Smb-pass1'],
  ['openssl pkcs12 -export -in c.pem -passout pass:Pkcs-pass1 -out c.p12', 'Pkcs-pass1'],
  ['7z a -pZip-pass1 backup.7z /srv/data', 'Zip-pass1'],
  ['zip -P Zip-pass2 -r backup.zip /srv', 'Zip-pass2'],
  ['docker login -u ci -p Dckr-pass1 registry.example.com', 'Dckr-pass1'],
  ['podman login --password=Pdmn-pass1 quay.io', 'Pdmn-pass1'],
  ['COMMAND=/usr/bin/htpasswd -b /etc/nginx/.htpasswd admin Htp-pass1', 'Htp-pass1'],
  ['htpasswd -cbB -C 12 /etc/nginx/.htpasswd ops Htp-pass2', 'Htp-pass2'],
  ["htpasswd -nb ci 'Htp pass3' > creds", 'Htp pass3'],
] as const;

describe('secret redaction', () => {
  it.each(SECRETS)('redacts %s', (line, secret) => {
    const out = redact(line);
    expect(out).not.toContain(secret);
    expect(out).toContain('[REDACTED]');
  });
  it.each([
    'Failed password for invalid user oracle from 203.0.113.50 port 52144 ssh2',
    'Accepted password for deploy from 10.0.1.5 port 40022 ssh2',
    'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4',
    'Password reset requested for alice@example.com',
    'commit 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12 merged', // a SHA-1 is not a secret key
    'user passed the test',
    'Password changed. Please sign in again',
    '20250303 04:10:01,ip-10-0-0-1,app,10.0.0.5,43,0,CONNECT,orders,,0',
    "SELECT id FROM users WHERE name = 'password reset'",
    'user u1: password expired, reset required',
    'password on file is too old',
    'Authorization: required for /admin',
    'authorization failed for user bob',
    'POST https://hooks.slack.com/services 404',
    'task-runner finished in 12ms',
    // sudo's working directory, not a password
    'bastion-1 sudo:   deploy : TTY=pts/1 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart web',
    // `-p` then a space prompts for MySQL's password (the next word is the database); another program's -p is a port.
    'COMMAND=/usr/bin/mysql -u root -p orders',
    'ssh -p 2222 deploy@10.0.0.5',
    'docker run -p 8080:80 web | tee mysql.log',
    'curl -s https://api.example.com/users?id=7',
    // openssl naming where the password is, a ZIP file name, a MongoDB URL's host: no secret.
    'openssl pkcs12 -export -passout env:P12_PASS -out c.p12',
    'downloaded backup.zip -P 2 parts',
    'connect mongodb-0.db:27017 -p 27017',
    'smbclient -L //fs -U guest',
    'docker run -p 8080:80 -e MODE=login web',
    'GET /search?q=signature+design&page=2 HTTP/1.1',
    'GET /config?design=sig HTTP/1.1',
    // htpasswd without -b prompts: its last argument is the user.
    'COMMAND=/usr/bin/htpasswd -c /etc/nginx/.htpasswd admin',
    'htpasswd -D /etc/nginx/.htpasswd olduser',
  ])('leaves ordinary lines alone: %s', (line) => {
    expect(redact(line)).toBe(line);
  });
  it('SQL keeps its shape: only the string that sets the password goes', () => {
    expect(redact("ALTER USER 'app'@'%' IDENTIFIED WITH caching_sha2_password BY 'x y'")).toBe(
      "ALTER USER 'app'@'%' IDENTIFIED WITH caching_sha2_password BY '[REDACTED]'",
    );
    expect(redact("QUERY,mysql,'CREATE USER \\'bob\\' IDENTIFIED BY \\'p,w\\'',0")).toBe(
      "QUERY,mysql,'CREATE USER \\'bob\\' IDENTIFIED BY \\'[REDACTED]\\'',0",
    );
  });
  it('a comma or semicolon before a space ends a value', () => {
    expect(redact('login password=abc123, user=bob; token=t0k3n1234; next')).toBe(
      'login password=[REDACTED], user=bob; token=[REDACTED]; next',
    );
  });
  it('closing brackets end a value only where a separator would', () => {
    expect(redact('User{name=bob, password=s3cr3t}')).toBe('User{name=bob, password=[REDACTED]}');
    expect(redact('login password=a}b]c1 ok')).toBe('login password=[REDACTED] ok');
  });
  it('a secret word as a value does not hide a secret-named key after it on the line', () => {
    // The key patterns run only where a secret word's key is assigned: the check passes over the
    // first word (a value, or a key with nothing assigned) and must still find the later key.
    expect(redact('{"method":"password","sessionContext":{},"db_password":"s3cret x"}')).toBe(
      '{"method":"password","sessionContext":{},"db_password":"[REDACTED]"}',
    );
    expect(redact('auth method password tokens tokenpasswd=abc123 done')).toBe('auth method password tokens tokenpasswd=[REDACTED] done');
    expect(redact('GET /login?next=%2Fhome&user_password%3Dhunter22 HTTP/1.1')).toBe(
      'GET /login?next=%2Fhome&user_password%3D[REDACTED] HTTP/1.1',
    );
    expect(redact('{"method":"api_key","tokens":{"issued":2}}')).toBe('{"method":"api_key","tokens":{"issued":2}}');
  });
  it('a title placeholder naming a secret field is dropped whole', () => {
    const values = { 'http.request.headers.authorization': 'Basic dXNlcjpwYXNz', 'user.name': 'bob' };
    expect(renderTitle('{user.name} sent {http.request.headers.authorization}', values)).toBe('bob sent [REDACTED]');
  });
  it('a placeholder with alternatives takes the first field the event has', () => {
    expect(renderTitle('change by {user.name|user.id}', { 'user.id': 'u-1' })).toBe('change by u-1');
    expect(renderTitle('change by {user.name|user.id}', { 'user.name': 'bob', 'user.id': 'u-1' })).toBe('change by bob');
    expect(renderTitle('change by {user.name|user.id}', {})).toBe('change by {user.name|user.id}');
    // An empty value names nothing: the next alternative is told (a JSON line's `"instance": ""`).
    expect(renderTitle('change by {user.name|user.id}', { 'user.name': '', 'user.id': 'u-1' })).toBe('change by u-1');
    expect(renderTitle("forged by {source.ip|'an unknown client'}", {})).toBe('forged by an unknown client');
    expect(renderTitle("forged by {source.ip|'an unknown client'}", { 'source.ip': '203.0.113.9' })).toBe('forged by 203.0.113.9');
    expect(renderTitle('{user.name|http.request.headers.authorization}', { 'http.request.headers.authorization': 'Basic dXNl' })).toBe(
      '[REDACTED]',
    );
  });
  it("a title reads the event's own fields: what its prototype has names nothing", () => {
    expect(renderTitle('by {toString|user.name}', { 'user.name': 'bob' })).toBe('by bob');
    expect(renderTitle('by {constructor}', {})).toBe('by {constructor}');
    const event = newOpenEvent();
    event['user.name'] = 'bob';
    event['source.ip'] = '198.51.100.7';
    const rule = {
      title: '{user.name} from {source.ip}: {count} in {window}',
      threshold: { count: 5, window: 300_000, groupBy: ['user.name'] },
    };
    // The rule's own values first, then the caller's (the entity, the count), then the event's.
    expect(detectionTitle(rule, event, { 'user.name': 'alice', count: 7 })).toBe('alice from 198.51.100.7: 7 in 5 minutes');
    expect(detectionTitle(rule, event, { 'user.name': undefined, count: 7, window: 'an hour' })).toBe(
      '{user.name} from 198.51.100.7: 7 in 5 minutes',
    );
  });
  it('redaction patterns are linear-time', () => {
    for (const p of REDACTION_PATTERNS) {
      expect(checkRegexSafety(p.regex.source), p.name).toMatchObject({ safe: true });
      if (p.needs instanceof RegExp) expect(checkRegexSafety(p.needs.source), `${p.name} needs`).toMatchObject({ safe: true });
    }
    // The checks' alternations (one scan for most lines), and most checks are in one.
    for (const group of CHECK_GROUPS) expect(checkRegexSafety(group.any.source), group.any.source).toMatchObject({ safe: true });
    expect(CHECK_GROUPS.reduce((n, g) => n + g.checks.length, 0)).toBeGreaterThan(20);
  });
});

/** A secret in one of the shapes apps leak it (each in the alphabet that shape allows), and the secret itself. */
const secretOf = (alphabet: RegExp) => fc.stringMatching(alphabet).filter((s) => /[0-9]/.test(s) && /[A-Za-z]/.test(s));
const leakedSecret = fc.oneof(
  secretOf(/^[A-Za-z0-9!#%*+\-_.:/ ]{8,24}$/).map((s) => ({ line: `{"user":"u1","password":"${s}"}`, secret: s })),
  secretOf(/^[A-Za-z0-9!#%*+\-_.]{8,24}$/).map((s) => ({ line: `{"user":"u1","db_password":"${s}"}`, secret: s })),
  secretOf(/^[A-Za-z0-9!#%*+\-_.]{8,24}$/).map((s) => ({ line: `{"user":"u1","newPassword":"${s}"}`, secret: s })),
  secretOf(/^[A-Za-z0-9+/]{40}$/).map((s) => ({ line: `{"AccessKeyId":"ASIAIOSFODNN7EXAMPLE","SecretAccessKey":"${s}"}`, secret: s })),
  secretOf(/^[A-Za-z0-9!#%*+\-_.]{8,24}$/).map((s) => ({ line: `login failed for u1 password=${s}`, secret: s })),
  secretOf(/^[A-Za-z0-9!#%*+\-_.]{8,24}$/).map((s) => ({ line: `login failed for u1 pwd=${s}`, secret: s })),
  secretOf(/^[A-Za-z0-9!#%*+\-_.,;]{8,24}$/).map((s) => ({ line: `login failed for u1 password=${s} ok`, secret: s })),
  secretOf(/^[A-Za-z0-9!#%*+\-_.,; ]{8,24}$/).map((s) => ({ line: `u1 connect password="${s}" ok`, secret: s })),
  secretOf(/^[A-Za-z0-9!#%*+\-_.,; ]{8,24}$/).map((s) => ({ line: `{"msg":"u1 connect pwd=\\"${s}\\" ok"}`, secret: s })),
  secretOf(/^[A-Za-z0-9!#%*+\-_.,; "]{8,24}$/).map((s) => ({ line: `u1 db passwd: '${s}'`, secret: s })),
  secretOf(/^[A-Za-z0-9!#%*+\-_.]{8,24}$/).map((s) => ({ line: `u1 ran: mysql --password ${s}`, secret: s })),
  secretOf(/^[A-Za-z0-9!#%*+\-_.]{8,24}$/).map((s) => ({ line: `u1 token: ${s}`, secret: s })),
  secretOf(/^[A-Za-z0-9._~+/-]{8,40}$/).map((s) => ({ line: `u1 Authorization: Bearer ${s}`, secret: s })),
  secretOf(/^[A-Za-z0-9!#%*+\-_.]{8,24}$/).map((s) => ({ line: `u1 sent https://u1:${s}@example.com/x`, secret: s })),
  secretOf(/^[A-Za-z0-9+/]{40}$/)
    .filter((s) => /[a-z]/.test(s) && /[A-Z]/.test(s))
    .map((s) => ({ line: `creds AKIAIOSFODNN7EXAMPLE ${s} for u1`, secret: s })),
);

describe('property: a secret is replaced whole, not cut where it holds a separator', () => {
  // Any printable punctuation a password may hold; only what the shape's own syntax forbids is left out.
  const PUNCT = '!#%*+\\-_.,;@$^()\\[\\]{}<>|~`?';
  const shapes: [RegExp, (s: string) => string][] = [
    [new RegExp(`^[A-Za-z0-9${PUNCT}]{8,24}$`), (s) => `login failed for u1 password=${s} ok`],
    [new RegExp(`^[A-Za-z0-9${PUNCT}]{8,24}$`), (s) => `u1 ran: mysql --password ${s} now`],
    [new RegExp(`^[A-Za-z0-9${PUNCT}]{8,24}$`), (s) => `u1 token: ${s} now`],
    [new RegExp(`^[A-Za-z0-9${PUNCT} ']{8,24}$`), (s) => `u1 connect password="${s}" ok`],
    [new RegExp(`^[A-Za-z0-9${PUNCT} "]{8,24}$`), (s) => `u1 db passwd: '${s}' ok`],
  ];
  it('in key=value, --password, token: and quoted forms', () => {
    for (const [alphabet, line] of shapes) {
      fc.assert(
        fc.property(secretOf(alphabet), (secret) => {
          // Separators at the very end stay (they may be the line's own); nothing of the secret before them does.
          const trailing = /[,;}\]]*$/.exec(secret)?.[0] ?? '';
          expect([line(REDACTED), line(`${REDACTED}${trailing}`)]).toContain(redact(line(secret)));
        }),
        { numRuns: 300 },
      );
    }
  });
});

describe('property: a generated secret never appears in any published field', () => {
  it('evidence, title, entity, related, Logs Insights query, subject, SNS and email text', async () => {
    const { pack } = loadPack(['rules'], { checkRegexes: false });
    // A rule that fires on every line and puts user-controlled fields in its title.
    const everything = rule({
      id: 'test.everything',
      title: 'event from {user} {message}',
      match: { 'cloudwatch.log_group|exists': true },
      entity: 'message',
    });
    await fc.assert(
      fc.asyncProperty(fc.array(leakedSecret, { minLength: 1, maxLength: 5 }), async (leaks) => {
        const detector = new Detector({ rules: [everything] }, new MemoryStateStore());
        const payload = {
          messageType: 'DATA_MESSAGE' as const,
          logGroup: '/app/leaky',
          logStream: 's',
          logEvents: leaks.map((l, i) => ({ id: `e${i}`, timestamp: 1_740_000_000_000 + i, message: l.line })),
        };
        const result = await processPayload(payload, new Normalizer(pack.sources), detector);
        const published = result.messages.map((m) =>
          [JSON.stringify(m.alert), subjectFor(m.alert), snsMessage(m.alert), emailBody(m.alert)].join('\n'),
        );
        expect(published.length).toBeGreaterThan(0);
        for (const text of published) for (const { secret } of leaks) expect(text).not.toContain(secret);
      }),
      { numRuns: 150 },
    );
  });
});

// Lines made of the pieces the patterns look for (in any case), the separators around them and
// values: where the literal checks in redact() could be wrong, such lines find it.
const piece = fc.oneof(
  fc.constantFrom(
    'password',
    'Passwd',
    'PWD',
    'pass',
    'db_password',
    'newPassword',
    'secret',
    'clientSecret',
    'token',
    'refresh_token',
    'api_key',
    'x-api-key',
    'apikey',
    'private_key',
    'credentials',
    'session_id',
    'sessionid',
    'auth-key',
    'Authorization',
    'authorization',
    'Proxy-Authorization',
    'Cookie',
    'set-cookie',
    'Bearer',
    'basic',
    'Digest',
    'PHPSESSID',
    'JSESSIONID',
    'laravel_session',
    'connect.sid',
    '_session_id',
    'XSRF-TOKEN',
    'AKIA',
    'ASIA',
    'AKIAIOSFODNN7EXAMPLE',
    'ASIAIOSFODNN7EXAMPLE',
    AWS_SECRET,
    'eyJ',
    'eyJhbGciOiJIUzI1NiJ9.e30',
    'ghp_',
    'gho_',
    'xoxb-',
    'xapp-',
    'AIza',
    'sk-',
    'sk-proj-',
    'glpat-',
    'gldt-',
    'npm_',
    'sk_live_',
    'rk_test_',
    'hooks.slack.com/services/',
    'discord.com/api/webhooks/123/',
    '-----BEGIN RSA PRIVATE KEY-----',
    '-----END RSA PRIVATE KEY-----',
    'https://',
    'redis://',
    '@',
    '"name":"authorization","value":',
    '[REDACTED]',
    'Invalid user ',
    " FOR '",
    'user_not_found username="',
    'Summer2025!',
    'htpasswd -b ',
  ),
  fc.constantFrom('=', ':', ': ', '"', "'", '\\"', ' ', '  ', '%3D', '%20', '+', '&', ';', ',', '}', ']', '{', '--', '\n', 'for ', 'is '),
  fc.stringMatching(/^[A-Za-z0-9_\-./+]{1,45}$/),
);

describe('property: the literal checks never change what redaction does', () => {
  const everyPattern = (text: string): string => {
    let out = text;
    for (const p of REDACTION_PATTERNS) {
      if (p.name === 'aws_secret_access_key' && !/(?:AKIA|ASIA)[A-Z0-9]{16}/.test(text)) continue;
      out = out.replace(p.regex, p.replace);
    }
    return redactTypedPasswords(redactCommandLines(out, REDACTED));
  };
  it('each match holds its pattern’s literal, and redact agrees with running every pattern', () => {
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 14 }), (pieces) => {
        const line = pieces.join('');
        for (const p of REDACTION_PATTERNS) {
          if (!p.needs) continue;
          for (const m of line.matchAll(p.regex)) expect(p.needs.test(m[0]), `${p.name} matched ${m[0]}`).toBe(true);
        }
        expect(redact(line)).toBe(everyPattern(line));
      }),
      { numRuns: 3000 },
    );
  });
  // Each alternative of each pattern's literal, once: the generated lines may miss a rare one.
  const EVERY_ALTERNATIVE = [
    ...['PHPSESSID', 'JSESSIONID', 'laravel_session', 'connect.sid', 'sessionid', 'session', '_session_id', 'XSRF-TOKEN'].map(
      (name) => `GET /x?${name}=s3ss10nvalue HTTP/1.1`,
    ),
    ...['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-auth-token', 'x-amz-security-token'].map(
      (name) => `{"headers":[{"name":"${name}","value":"v4lue"}]}`,
    ),
    ...['authorization', 'proxy-authorization', 'cookie', 'set-cookie'].map((name) => `{"${name}": "v4lue"}`),
    ...['AKIA', 'ASIA', 'AGPA', 'AIDA', 'AROA', 'ANPA'].map((prefix) => `id ${prefix}IOSFODNN7EXAMPLE used`),
    ...['xoxa', 'xoxb', 'xoxe', 'xoxp', 'xoxr', 'xoxs', 'xapp'].map((prefix) => `slack ${prefix}-1234567890-abcdef`),
    ...['glpat', 'gldt', 'glrt', 'glptt'].map((prefix) => `gitlab ${prefix}-abcdefghij1234567890`),
    ...['ghp', 'gho', 'ghu', 'ghs', 'ghr'].map((prefix) => `github ${prefix}_abcdefghijklmnopqrstuvwxyz0123456789`),
    ...['sk_live', 'sk_test', 'rk_live', 'rk_test'].map((prefix) => `stripe ${prefix}_0123456789abcdefABCD`),
    ...['bearer', 'basic', 'token', 'digest'].map((scheme) => `Authorization: ${scheme} abcdefgh12345678`),
    'POST https://discordapp.com/api/webhooks/1/abcDEF-123_xyz',
    'POST https://hooks.slack.com/workflows/T0/abcdefgh123',
    'Set-Cookie: sid=abc',
    ...['shpat', 'shpca', 'shppa', 'shpss'].map((prefix) => `shopify ${prefix}_abcdef0123456789abcdef0123456789`),
    'Endpoint=sb://x/;SharedAccessSignature=SharedAccessSignature sr=x&sig=abc',
    'proxy-authorization: 3f9a1c0e5b7d2468ace0',
    'user=u1 passphrase=abc123 passcode=x9 pwd=abc1 apikey=k1 auth_key=k2 privatekey=k3 credential=c1 session-id=s1',
    '\\"password\\": \\"a b\\"',
    '-----BEGIN EC PRIVATE KEY-----abc-----END EC PRIVATE KEY-----',
  ];
  it('every pattern has an example, and each match holds its literal', () => {
    const examples = [...SECRETS.map(([l]) => l), ...EVERY_ALTERNATIVE];
    for (const p of REDACTION_PATTERNS) {
      let matched = 0;
      for (const line of examples) {
        for (const m of line.matchAll(p.regex)) {
          matched++;
          if (p.needs) expect(p.needs.test(m[0]), `${p.name} matched ${m[0]}`).toBe(true);
          // The match alone, so no other literal of its line carries it past the first scan, whose
          // literals are written out by hand (src/alerts/redact.ts, ANY_NEEDED).
          expect(redact(m[0]), `${p.name} matched ${m[0]}`).toBe(everyPattern(m[0]));
        }
      }
      expect(matched, p.name).toBeGreaterThan(0);
    }
    for (const line of examples) expect(redact(line), line).toBe(everyPattern(line));
  });
});
