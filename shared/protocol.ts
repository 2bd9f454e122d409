/**
 * The worker protocol: every message kind, its payload spec, and the types
 * derived from it. Frames are msgpack maps with a string `kind`; see
 * PROTOCOL.md for the prose and the sequence of a session.
 */
import type { Infer, Spec } from './schema.js';

/** Version carried in `hello`; the foreman refuses versions it does not speak. */
export const PROTOCOL_VERSION = 1;

/** Path of the worker WebSocket endpoint on the foreman. */
export const WORKER_WS_PATH = '/ws/worker';

const taskRef = { taskId: 'id', attempt: 'uint' } as const;

/**
 * A failed attempt's error. `errorClass` (the thrown error's name, e.g. TypeError) and `stack` (at most
 * MAX_STACK_CHARS) come from the worker for a handler that threw; the foreman stores them with the attempt.
 */
/** `retryAfterMs`: set with code HANDLER_RATE_LIMITED (a handler's RateLimitedError): requeue after it, using no attempt, and pause the type. */
const wireError = { code: 'string', message: 'string', retryable: 'boolean', 'errorClass?': 'string', 'stack?': 'string', 'retryAfterMs?': 'uint' } as const;

/** Longest stack a worker sends with a failed attempt, in characters: the top frames, which say where it failed. */
export const MAX_STACK_CHARS = 4000;

/** Payload spec of every message kind, keyed by kind. */
export const MESSAGE_SPECS = {
  // worker → foreman
  hello: {
    protocolVersion: 'uint',
    workerId: 'id',
    'sessionToken?': 'string',
    'authToken?': 'string',
    skills: [{ type: 'id', 'group?': 'id' }],
    capacity: 'uint',
    groupLimits: { '*': 'uint' },
    running: [taskRef],
    'statusUrl?': 'string',
    'meta?': { '*': 'any' },
    'hotSkills?': ['id'],
  },
  heartbeat: { running: [taskRef], 'draining?': 'boolean', 'hotSkills?': ['id'] },
  'task.result': {
    results: [
      {
        taskId: 'id',
        attempt: 'uint',
        outcome: { enum: ['succeeded', 'failed', 'cancelled'] },
        'value?': 'any',
        'status?': 'id',
        'error?': wireError,
        durationMs: 'number',
        /** The attempt's last ctx.log() lines (bounded by the worker's taskLogMaxLines and taskLogMaxBytes). */
        'logs?': ['string'],
      },
    ],
  },
  'task.progress': { updates: [{ taskId: 'id', attempt: 'uint', fraction: 'number', 'message?': 'string' }] },
  'task.release': { tasks: [taskRef], reason: 'string' },
  'task.checkpoint': { checkpoints: [{ taskId: 'id', attempt: 'uint', seq: 'uint', state: 'any' }] },
  'worker.state': { state: { enum: ['ready', 'draining'] } },
  // foreman → worker
  welcome: {
    sessionId: 'id',
    sessionToken: 'string',
    heartbeatIntervalMs: 'uint',
    maxFrameBytes: 'uint',
    adopted: [taskRef],
    revoked: [taskRef],
  },
  'task.assign': {
    tasks: [
      {
        taskId: 'id',
        jobId: 'id|null',
        type: 'id',
        attempt: 'uint',
        priority: 'number',
        params: 'any',
        timeoutMs: 'uint|null',
        'checkpoint?': { state: 'any', savedAt: 'number', attempt: 'uint' },
        /** A dependent task's parents' results, by parent task id (see TaskInput.dependsOn). */
        'parents?': 'any',
      },
    ],
  },
  'task.cancel': { tasks: [taskRef], reason: { enum: ['cancelled', 'revoked'] } },
  'task.ack': { results: [{ taskId: 'id', attempt: 'uint', accepted: 'boolean', 'reason?': 'string' }] },
  'checkpoint.ack': { checkpoints: [{ taskId: 'id', attempt: 'uint', seq: 'uint', accepted: 'boolean', 'reason?': 'string' }] },
  'worker.command': { command: { enum: ['restart', 'drain', 'undrain'] }, 'mode?': { enum: ['graceful', 'hard'] } },
  error: { code: 'string', message: 'string', retryable: 'boolean' },
  // client → foreman, on the client channel (CLIENT_WS_PATH)
  'client.submit': {
    tasks: [{ ref: 'uint', type: 'id', 'params?': 'any', 'priority?': 'number', 'maxAttempts?': 'uint', 'timeoutMs?': 'uint', 'key?': 'id' }],
  },
  'client.watch': { taskIds: ['id'] },
  // foreman → client
  'client.unknown': { taskIds: ['id'] },
  'client.accepted': { tasks: [{ ref: 'uint', 'taskId?': 'id', 'error?': { code: 'string', message: 'string', 'field?': 'string' } }] },
  'client.settled': {
    tasks: [
      {
        taskId: 'id',
        state: { enum: ['succeeded', 'failed', 'cancelled'] },
        status: 'string|null',
        'result?': 'any',
        'error?': wireError,
        attempt: 'uint',
      },
    ],
  },
} as const satisfies Record<string, Spec>;

/** Each batched kind and the array field that carries its items. */
export const BATCH_FIELDS = {
  'task.assign': 'tasks',
  'task.ack': 'results',
  'task.result': 'results',
  'task.progress': 'updates',
} as const;

/** Every message kind on the wire. */
export type MessageKind = keyof typeof MESSAGE_SPECS;

/** Payload of each kind, derived from its spec. */
export type Payloads = { [K in MessageKind]: Infer<(typeof MESSAGE_SPECS)[K]> };

/** One message of a given kind: its payload plus the `kind` tag. */
export type MessageOf<K extends MessageKind> = { kind: K } & Payloads[K];

/** Any protocol message. */
export type Message = { [K in MessageKind]: MessageOf<K> }[MessageKind];

/** Kinds a worker sends; the foreman rejects any other kind from a worker. */
export const WORKER_KINDS = ['hello', 'heartbeat', 'task.result', 'task.progress', 'task.release', 'task.checkpoint', 'worker.state'] as const;
/** Kinds the foreman sends. */
export const FOREMAN_KINDS = ['welcome', 'task.assign', 'task.cancel', 'task.ack', 'checkpoint.ack', 'worker.command', 'error'] as const;

/** Kinds a client sends on the client channel; `error` and the FOREMAN_CLIENT_KINDS answer them. */
export const CLIENT_KINDS = ['client.submit', 'client.watch'] as const;
/** Kinds the foreman sends on the client channel. */
export const FOREMAN_CLIENT_KINDS = ['client.accepted', 'client.settled', 'client.unknown', 'error'] as const;

/** Path of the client channel: a WebSocket to submit tasks and have their results pushed. */
export const CLIENT_WS_PATH = '/ws/client';

export type WorkerMessage = Extract<Message, { kind: (typeof WORKER_KINDS)[number] }>;
export type ClientMessage = Extract<Message, { kind: (typeof CLIENT_KINDS)[number] }>;
export type ForemanClientMessage = Extract<Message, { kind: (typeof FOREMAN_CLIENT_KINDS)[number] }>;
export type SettledPush = Payloads['client.settled']['tasks'][number];
export type SubmitRequest = Payloads['client.submit']['tasks'][number];
export type ForemanMessage = Extract<Message, { kind: (typeof FOREMAN_KINDS)[number] }>;

export type TaskRef = Infer<typeof taskRef>;
export type WireError = Infer<typeof wireError>;
export type Assignment = Payloads['task.assign']['tasks'][number];
export type TaskResult = Payloads['task.result']['results'][number];
export type ProgressUpdate = Payloads['task.progress']['updates'][number];
export type ResultAck = Payloads['task.ack']['results'][number];
export type Checkpoint = Payloads['task.checkpoint']['checkpoints'][number];
export type CheckpointAck = Payloads['checkpoint.ack']['checkpoints'][number];
export type Skill = Payloads['hello']['skills'][number];

/** WebSocket close codes the foreman uses; PROTOCOL.md lists them. */
export const CLOSE_CODES = {
  /** Too many malformed or unexpected frames. */
  protocolAbuse: 4000,
  /** Missing, wrong or revoked worker token. */
  unauthorized: 4001,
  /** No `hello` within the hello deadline. */
  helloTimeout: 4002,
  /** `hello.protocolVersion` is not spoken by this foreman. */
  unsupportedVersion: 4003,
  /** The first frame was not a valid `hello` (the `error` frame before the close says what was wrong). */
  invalidHello: 4004,
  /** Message rate limit exceeded. */
  rateLimited: 4008,
  /** Another live session holds this worker id. */
  workerIdInUse: 4009,
  /** The same worker resumed on a new socket; the old one is closed. */
  sessionReplaced: 4010,
  /** The foreman is shutting down; reconnect later. */
  foremanShutdown: 4011,
  /** The session missed heartbeats past its lease; its tasks were requeued. */
  leaseExpired: 4012,
  /** Too many sockets waiting for hello, or too many registered sessions (in all, or from this address). */
  tooManySessions: 4013,
  /** The worker was asked to restart its session. */
  restartRequested: 4014,
} as const;
