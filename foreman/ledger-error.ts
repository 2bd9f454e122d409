/** A request the ledger refuses, with the HTTP status and the field at fault; the API's error handler sends it as is. */
import { GafferError } from '../shared/errors.js';

export class LedgerError extends GafferError {
  constructor(
    readonly statusCode: number,
    code: 'JOB_NOT_FOUND' | 'JOB_CLOSED' | 'KEY_CONFLICT' | 'INVALID_REQUEST',
    message: string,
    readonly field?: string,
  ) {
    super(code, message);
    this.name = 'LedgerError';
  }
}
