/**
 * Typed errors of the Hugging Face hub client. Each names the repository (and file / revision where it
 * applies) and says what to do about it.
 */
import { ModelNotFoundError, WgbertError } from '../../errors.js';

/** The hub could not be reached, answered something we cannot use, or a download failed. */
export class HubError extends WgbertError {
  override readonly name: string = 'HubError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('HUB', message, options);
  }
}

/** 401 / 403: the repository is private or gated, or the token is wrong. */
export class HubAuthError extends WgbertError {
  override readonly name: string = 'HubAuthError';
  readonly repoId: string;
  readonly status: number;
  constructor(repoId: string, status: number, message: string) {
    super('HUB_AUTH', message);
    this.repoId = repoId;
    this.status = status;
  }
}

/** The repository, revision or file does not exist on the hub (404). */
export class HubNotFoundError extends ModelNotFoundError {
  override readonly name: string = 'HubNotFoundError';
  readonly repoId: string;
  readonly revision: string;
  readonly file: string | undefined;
  readonly what: 'repo' | 'revision' | 'file';
  constructor(
    what: 'repo' | 'revision' | 'file',
    repoId: string,
    revision: string,
    file: string | undefined,
    message: string,
  ) {
    super(message);
    this.what = what;
    this.repoId = repoId;
    this.revision = revision;
    this.file = file;
  }
}

/** Offline (HF_HUB_OFFLINE=1, --offline, or the hub unreachable) and the cache lacks what the model needs. */
export class HubOfflineError extends ModelNotFoundError {
  override readonly name: string = 'HubOfflineError';
  readonly repoId: string;
  readonly missing: string[];
  constructor(repoId: string, missing: string[], message: string) {
    super(message);
    this.repoId = repoId;
    this.missing = missing;
  }
}

/** A downloaded file does not match its size or its SHA-256 (the hub's ETag for LFS files); it was deleted. */
export class HubIntegrityError extends WgbertError {
  override readonly name: string = 'HubIntegrityError';
  readonly file: string;
  constructor(file: string, message: string) {
    super('HUB_INTEGRITY', message);
    this.file = file;
  }
}
