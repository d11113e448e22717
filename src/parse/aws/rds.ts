import { type FieldValue, textValue } from '../../schema/event';
import { type BuiltinSource, base, withParsers } from './builtin-source';

/** RDS and Aurora database logs: PostgreSQL and MySQL / MariaDB error logs and MySQL audit logs (logins, failures, statements). */

/**
 * PostgreSQL's log line prefix on RDS and Aurora is fixed (`%t:%r:%u@%d:[%p]:`): the time, the
 * client `address(port)` (`[local]`, or nothing for the server's own processes), `user@database`,
 * the pid. The time and the address are the server's; the user and the database are what the
 * client sent, and may hold `:[1]:FATAL:  …`: patterns read the message from the last such
 * marker on the line, and the address before any of it.
 */
const PG_PREFIX = String.raw`^(?<timestamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC):(?:(?<source__address>[^\s()]{1,255})\((?<source__port>\d{1,5})\)|\[local\])?:`;
/** A PostgreSQL line whose message, after the last `:[pid]:` that fits, is `message`. */
const pgLine = (message: string) => String.raw`${PG_PREFIX}.{0,400}:\[(?<process__pid>\d{1,10})\]:${message}`;
/** MySQL 8 / 5.7 (`2025-03-03T04:10:01.123456Z 12 [Note] [MY-010926] [Server] `) and MariaDB (`2025-03-03 04:10:01 12 [Warning] `) error logs. */
const MYSQL_PREFIX = String.raw`^(?:(?<timestamp>\d{4}-\d\d-\d\d(?:T\d\d:\d\d:\d\d(?:\.\d{1,6})?Z| \d\d:\d\d:\d\d))|\d{4}-\d\d-\d\d  \d:\d\d:\d\d) {1,2}(?<process__thread__id>\d{1,20}) \[(?<log__level>[A-Za-z]{1,10})\] (?:\[(?<error__code>MY-\d{6})\] \[(?<mysql__subsystem>\w{1,20})\] )?`;
/**
 * The MySQL audit log RDS and Aurora export to `/aws/rds/…/audit` (the MariaDB Audit Plugin on RDS
 * for MySQL and MariaDB, Advanced Auditing on Aurora MySQL): `time,server,user,host,connection,
 * query,OPERATION,database,object,retcode`, the time `20250303 04:10:01` on RDS and epoch
 * microseconds on Aurora; RDS's plugin adds a connection type or two empty fields at the end.
 * Nothing is escaped but the object (a query, quoted): the user and database a client sends sit
 * unescaped around the server's own fields. Those are found from the operation on: on a
 * connection's line `CONNECT,` (or FAILED_/DIS-) appears once, and the address, connection and
 * query ids just before it are the server's. A line holding it twice holds a client's copy.
 */
const MYSQL_AUDIT_HEAD = String.raw`^(?<timestamp>\d{8} \d\d:\d\d:\d\d|\d{16}),(?<host__name>[^,]{1,255}),`;
/** What RDS's plugin writes after the return code: a connection type or empty fields (letters only: never a client's digits). */
const MYSQL_AUDIT_TRAILER = '(?:,[A-Za-z_/ ]{0,20}){0,2}$';
// A table event (READ, WRITE, CREATE, ALTER, RENAME, DROP) ends with its object and an empty
// return code: the plugin writes them as the table is opened, before there is one.
const MYSQL_AUDIT_TAIL = String.raw`(?<db__return_code>\d{1,10})?${MYSQL_AUDIT_TRAILER}`;
/** What connectionFields reads; the subscription filter must not look for them in a line as they are. */
const MYSQL_CONNECTION_FIELDS = ['user.name', 'source.address', 'db.session.id', 'mysql.audit.operation', 'db.name', 'db.return_code'];
// The server's fields before the operation (a comma-free address, the connection and query ids).
const CONNECTION_OPERATION_RE = /,(\d{1,20}),\d{1,20},(FAILED_CONNECT|CONNECT|DISCONNECT),/;
const CONNECTION_END_RE = new RegExp(String.raw`,(\d{1,10})${MYSQL_AUDIT_TRAILER}`);

const mysqlAudit: Record<string, FieldValue> = { 'db.system': 'mysql', 'event.dataset': 'mysql.audit' };
/** MySQL's "Access denied" (a wrong password, or a user that does not exist): the return code of a guess. */
const MYSQL_ACCESS_DENIED = 1045;
const RDS_PG_RE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC:/;
const RDS_MYSQL_RE =
  /^\d{4}-\d\d-\d\d(?:T\d\d:\d\d:\d\d\.\d{6}Z| {1,2}\d{1,2}:\d\d:\d\d) {1,2}\d{1,20} \[(?:Note|Warning|ERROR|Error|System)\] /;
const postgres = (action?: string, outcome?: 'success' | 'failure'): Record<string, FieldValue> => ({
  'db.system': 'postgresql',
  ...(action ? { 'event.category': 'authentication', 'event.action': action } : {}),
  ...(outcome ? { 'event.outcome': outcome } : {}),
});

export const RDS: BuiltinSource = {
  definition: withParsers(['rds'], base('rds', 'Amazon RDS and Aurora database logs: PostgreSQL, MySQL and MariaDB', 'text')),
  patterns: [
    {
      name: 'rds_postgresql_auth_failed',
      literal: 'password authentication failed for user',
      pattern: pgLine(`FATAL:  password authentication failed for user "(?<user__name>.{0,200})"$`),
      fields: postgres('db_login', 'failure'),
    },
    {
      // Refused before any password (no pg_hba.conf line for it, e.g. without TLS where TLS is forced): a connection, not a guess.
      name: 'rds_postgresql_no_hba_entry',
      literal: 'no pg_hba.conf entry',
      pattern: pgLine(
        String.raw`FATAL:  no pg_hba.conf entry for host "[^"]{0,255}", user "(?<user__name>.{0,200})", database "(?<db__name>.{0,200})", (?<tls__mode>[\w ]{1,40})$`,
      ),
      fields: postgres('db_connection_refused', 'failure'),
    },
    {
      // Logged when the log_connections parameter is on (off by default).
      name: 'rds_postgresql_connection_authorized',
      literal: 'connection authorized: ',
      pattern: pgLine(String.raw`LOG:  connection authorized: user=(?<user__name>\S{1,200}) database=(?<db__name>\S{1,200})`),
      fields: postgres('db_login', 'success'),
    },
    {
      name: 'rds_postgresql',
      literal: ' UTC:',
      pattern: String.raw`${PG_PREFIX}.{0,400}?:\[(?<process__pid>\d{1,10})\]:(?<log__level>[A-Z]{3,10}):  (?<message>[\s\S]*)$`,
      fields: postgres(),
    },
    {
      // The user is what the client sent, and may hold `'@'`: the address is the last `'@'…'` of the line, the server's.
      name: 'rds_mysql_access_denied',
      literal: 'Access denied for user',
      pattern: String.raw`${MYSQL_PREFIX}Access denied for user '(?<user__name>.{0,200})'@'(?<source__address>[^']{0,255})' \(using password: (?<db__password_used>YES|NO)\)$`,
      fields: { 'db.system': 'mysql', 'event.category': 'authentication', 'event.action': 'db_login', 'event.outcome': 'failure' },
    },
    {
      // A connection opened, refused or closed: read in code (connectionFields), from the operation out.
      name: 'rds_mysql_audit_connect',
      literal: 'CONNECT,',
      once: 'CONNECT,',
      pattern: String.raw`${MYSQL_AUDIT_HEAD}(?<mysql__audit__connection>[^\n]{1,16384})$`,
      fields: mysqlAudit,
    },
    {
      // A connection's line with a second `CONNECT,` in what the client sent: which address the server
      // wrote cannot be told, and someone is writing into the database's audit log.
      name: 'rds_mysql_audit_forged',
      literal: 'CONNECT,',
      twice: 'CONNECT,',
      pattern: MYSQL_AUDIT_HEAD,
      fields: { ...mysqlAudit, 'event.action': 'log_injection', 'event.outcome': 'failure' },
    },
    {
      // Queries and table events of an authenticated session (the user is the server's account name).
      name: 'rds_mysql_audit',
      pattern: String.raw`${MYSQL_AUDIT_HEAD}(?<user__name>[^,]{0,200}),(?<source__address>[^,]{0,255}),(?<db__session__id>\d{1,20}),(?<mysql__audit__query_id>\d{1,20}),(?<mysql__audit__operation>[A-Z_]{1,40}),(?<db__name>[^,]{0,200}),(?:'(?<db__statement>(?:[^'\\]|\\.){0,16384})'|(?<mysql__audit__object>[^,']{0,255})),${MYSQL_AUDIT_TAIL}`,
      fields: mysqlAudit,
    },
    {
      name: 'rds_mysql',
      literal: '] ',
      pattern: String.raw`${MYSQL_PREFIX}(?<message>[\s\S]*)$`,
      fields: { 'db.system': 'mysql' },
    },
  ],
  recognize: (l) => RDS_PG_RE.test(l) || RDS_MYSQL_RE.test(l),
  recognizedBy: [' UTC:', '[Note] ', '[Warning] ', '[ERROR] ', '[Error] ', '[System] '],
  derives: [
    'db.instance.id',
    'cloud.provider',
    'cloud.service.name',
    'event.category',
    'event.action',
    'event.outcome',
    ...MYSQL_CONNECTION_FIELDS,
  ],
  derive: (e, logGroup) => {
    // `/aws/rds/instance/<id>/<log>` or `/aws/rds/cluster/<id>/<log>`: which database.
    const m = RDS_GROUP_RE.exec(logGroup);
    if (m?.[1]) e['db.instance.id'] = m[1];
    e['cloud.provider'] = 'aws';
    e['cloud.service.name'] = 'rds';
    if (e['event.dataset'] !== 'mysql.audit' || e['event.action'] !== undefined) return;
    const connection = e['mysql.audit.connection'];
    if (typeof connection === 'string') {
      Reflect.deleteProperty(e, 'mysql.audit.connection'); // the line itself, kept as the message
      connectionFields(connection, e);
    }
    auditAction(e);
  },
};
const RDS_GROUP_RE = /^\/aws\/rds\/(?:instance|cluster|proxy)\/([^/]{1,255})\//;

/**
 * A connection record after its time and server: `user,host,connection,query,OPERATION,database,,
 * retcode[,type]`, the user and database as the client sent them (commas and all). `once` has made
 * the operation's text unique on the line, so the fields just before it are the server's: the
 * address is the last comma-free field before the ids, the user whatever precedes it; the return
 * code is the last number, and the database what lies between.
 */
function connectionFields(record: string, e: Record<string, FieldValue>): void {
  const op = CONNECTION_OPERATION_RE.exec(record);
  if (!op) return;
  const before = record.slice(0, op.index);
  const comma = before.lastIndexOf(',');
  if (comma === -1) return;
  const user = before.slice(0, comma);
  const address = before.slice(comma + 1);
  if (user !== '') e['user.name'] = user;
  if (address !== '') e['source.address'] = address;
  e['db.session.id'] = op[1] ?? '';
  e['mysql.audit.operation'] = op[2] ?? '';
  const after = record.slice(op.index + op[0].length);
  const end = CONNECTION_END_RE.exec(after);
  if (!end) return;
  e['db.return_code'] = Number(end[1]);
  // Then `database,object`: a connection's object is empty.
  const database = after.slice(0, end.index).replace(/,$/, '');
  if (database !== '') e['db.name'] = database;
}

/**
 * What a MySQL audit record did. A connection refused with "Access denied" (1045) is a password
 * guess (`db_login`, as the error log's line is); refused for another reason — no access to the
 * database named (1044, the password was right), a host not allowed, TLS required, too many
 * connections — it is a connection, not a guess. Other records are `db_` and their operation.
 */
/** The audit plugin's table events: written with an empty return code. */
const MYSQL_TABLE_OPERATIONS: ReadonlySet<string> = new Set(['READ', 'WRITE', 'CREATE', 'ALTER', 'RENAME', 'DROP']);

function auditAction(e: Record<string, FieldValue>): void {
  const operation = textValue(e['mysql.audit.operation']);
  const code = e['db.return_code'];
  if (operation === undefined) return;
  if (typeof code !== 'number') {
    // A table event has no return code; a connection or query cut short says nothing.
    if (!MYSQL_TABLE_OPERATIONS.has(operation)) return;
    e['event.category'] = 'database';
    e['event.action'] = `db_${operation.toLowerCase()}`;
    return;
  }
  if (operation === 'CONNECT' || operation === 'FAILED_CONNECT') {
    e['event.category'] = 'authentication';
    if (code === 0 && operation === 'CONNECT') {
      e['event.action'] = 'db_login';
      e['event.outcome'] = 'success';
    } else {
      e['event.action'] = code === MYSQL_ACCESS_DENIED ? 'db_login' : 'db_connection_refused';
      e['event.outcome'] = 'failure';
    }
    return;
  }
  e['event.category'] = 'database';
  e['event.action'] = `db_${operation.toLowerCase()}`;
  e['event.outcome'] = code === 0 ? 'success' : 'failure';
}
