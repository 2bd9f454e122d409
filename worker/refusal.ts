/**
 * When the foreman refuses a worker for good. Retrying cannot fix a wrong token (4001) or a protocol
 * version the foreman does not speak (4003), so the worker stops at once; an id in use (4009) may be a
 * previous run of this very worker whose socket the foreman has not yet seen close, so it is retried a
 * bounded number of times (`idInUseMaxTries`) before it too is final.
 */
import { GafferError } from '../shared/errors.js';
import { CLOSE_CODES } from '../shared/protocol.js';

/** The foreman refused this worker; `code` is the protocol error code, `closeCode` the WebSocket close code. */
export class WorkerRefusedError extends GafferError {
  readonly closeCode: number;
  constructor(code: string, closeCode: number, message: string) {
    super(code, message);
    this.name = 'WorkerRefusedError';
    this.closeCode = closeCode;
  }
}

/**
 * The refusal a close means, or null when the worker should reconnect.
 * @param idInUseTries consecutive 4009 closes so far, this one included.
 */
export function refusalFor(closeCode: number, workerId: string, idInUseTries: number, idInUseMaxTries: number): WorkerRefusedError | null {
  switch (closeCode) {
    case CLOSE_CODES.unauthorized:
      return new WorkerRefusedError(
        'UNAUTHORIZED',
        closeCode,
        'the foreman refused the worker token (missing, wrong or revoked): pass the token the foreman printed with --worker-token TOKEN (or GAFFER_WORKER_TOKEN; SDK option workerToken)',
      );
    case CLOSE_CODES.unsupportedVersion:
      return new WorkerRefusedError('UNSUPPORTED_VERSION', closeCode, 'the foreman speaks another protocol version: run the same Gaffer version on the foreman and the worker');
    case CLOSE_CODES.workerIdInUse:
      if (idInUseTries < idInUseMaxTries) return null;
      return new WorkerRefusedError(
        'WORKER_ID_IN_USE',
        closeCode,
        `another live worker holds the id ${workerId} (refused ${idInUseTries} times): give this one its own with --id NAME (or GAFFER_ID; SDK option id)`,
      );
    default:
      return null;
  }
}
