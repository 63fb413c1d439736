/**
 * A backend turns BERT weights into something that runs: it is a device kind (./device.ts: memory layout,
 * upload and ops). What every backend shares — the input check, disposal, the device-loss policy, tracing —
 * is the session's (src/engine/session.ts), which opens a backend's device: `Session.open(backend, weights)`.
 */
import type { DeviceKind } from './device.js';

export type { BackendName, Device, DeviceKind } from './device.js';

/** A backend is a kind of device (with, optionally, the kind to fall back to after a device loss). */
export type Backend = DeviceKind;
