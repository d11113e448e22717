import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { decodeLambdaEvent, type SubscriptionPayload, validatePayload } from '../decode/cloudwatch';
import { decodeKinesisRecord, isKinesisEvent } from '../decode/kinesis';
import type { Skip } from '../decode/skips';
import { listInputFiles, UnreadableInputError } from './input-files';

export { UnreadableInputError };

export type ReplayItem = { kind: 'payload'; payload: SubscriptionPayload } | { kind: 'skip'; skip: Skip };

export interface ReplayInputOptions {
  /** Treat lines that are not payloads as raw log lines of this log group. */
  logGroup?: string;
  /**
   * The log stream those lines arrived in (default: the file's path). A service's records are
   * believed only where it writes them: CloudTrail's in its streams, `<account>_CloudTrail_<region>`,
   * flow records in their interface's, `eni-…-all` (README, Forged AWS records).
   */
  logStream?: string;
  /** Raw lines are grouped into payloads of this many events. */
  linesPerPayload?: number;
  /**
   * When plain lines count as delivered (epoch ms; default: as each is read). Syslog lines carry
   * no year: it is inferred from this, so an old file replays in its own year, and the same
   * file replays the same way whatever the date.
   */
  receivedAt?: number;
  onBytes?: (bytes: number) => void;
}

/**
 * Reads replay input: JSONL of decoded subscription payloads, raw Lambda events
 * (`{"awslogs":{"data":…}}`), Kinesis events from the hub's stream (`{"Records":[…]}`), `.json`
 * files holding one such document, or plain log lines when a log group is given.
 */
export async function* readReplayInput(paths: readonly string[], options: ReplayInputOptions = {}): AsyncGenerator<ReplayItem> {
  const files = listInputFiles(paths);
  const linesPerPayload = options.linesPerPayload ?? 500;
  for (const file of files) {
    if (file.endsWith('.json')) {
      options.onBytes?.(statSync(file).size);
      for (const item of readJsonDocument(file)) yield item;
      continue;
    }
    let rawLines: SubscriptionPayload['logEvents'] = [];
    const flush = function* (): Generator<ReplayItem> {
      if (rawLines.length === 0 || !options.logGroup) return;
      yield {
        kind: 'payload',
        payload: { messageType: 'DATA_MESSAGE', logGroup: options.logGroup, logStream: options.logStream ?? file, logEvents: rawLines },
      };
      rawLines = [];
    };
    const stream = createReadStream(file, { encoding: 'utf8' });
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    let lineNo = 0;
    try {
      for await (const line of lines) {
        lineNo++;
        options.onBytes?.(Buffer.byteLength(line) + 1);
        if (line.trim() === '') continue;
        const where = `${file}:${lineNo}`;
        const items = classifyLine(line, where);
        if (items) {
          yield* flush();
          yield* items;
        } else if (options.logGroup) {
          rawLines.push({ id: `${file}:${lineNo}`, timestamp: options.receivedAt ?? Date.now(), message: line });
          if (rawLines.length >= linesPerPayload) yield* flush();
        } else {
          yield {
            kind: 'skip',
            skip: {
              reason: 'unreadable_line',
              where,
              detail: 'not a CloudWatch Logs payload or Lambda event (pass --log-group to replay plain log lines)',
              events: 1,
            },
          };
        }
      }
    } catch (err) {
      throw new UnreadableInputError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
    yield* flush();
  }
}

/** A payload, Lambda event or Kinesis event line becomes items; anything else returns undefined. */
function classifyLine(line: string, where: string): ReplayItem[] | undefined {
  const trimmed = line.trimStart();
  if (!trimmed.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  return classifyValue(value, where);
}

function classifyValue(value: unknown, where: string): ReplayItem[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (isKinesisEvent(value)) {
    // A Kinesis event (the hub's stream): one payload per record, CONTROL_MESSAGE records included.
    return value.Records.map((record, i) => {
      const r = decodeKinesisRecord(record, `${where} record ${i}`);
      return r.ok ? { kind: 'payload', payload: r.payload } : { kind: 'skip', skip: r.skip };
    });
  }
  if ('awslogs' in value) {
    const r = decodeLambdaEvent(value, where);
    return [r.ok ? { kind: 'payload', payload: r.payload } : { kind: 'skip', skip: r.skip }];
  }
  if ('logEvents' in value || 'messageType' in value) {
    const r = validatePayload(value, where);
    return [r.ok ? { kind: 'payload', payload: r.payload } : { kind: 'skip', skip: r.skip }];
  }
  return undefined;
}

/** A `.json` file is one document (e.g. a test event saved from the Lambda console): an event, a payload or a list of them. */
function readJsonDocument(file: string): ReplayItem[] {
  const text = readFileSync(file, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return [
      {
        kind: 'skip',
        skip: { reason: 'not_json', where: file, detail: `not JSON: ${err instanceof Error ? err.message : String(err)}`, events: 0 },
      },
    ];
  }
  const values = Array.isArray(value) ? value : [value];
  return values.flatMap(
    (v, i) =>
      classifyValue(v, Array.isArray(value) ? `${file}[${i}]` : file) ?? [
        {
          kind: 'skip' as const,
          skip: {
            reason: 'unreadable_line' as const,
            where: file,
            detail: 'not a CloudWatch Logs payload, Lambda event or Kinesis event',
            events: 1,
          },
        },
      ],
  );
}

export function totalInputBytes(paths: readonly string[]): number {
  return listInputFiles(paths).reduce((sum, f) => sum + statSync(f).size, 0);
}
