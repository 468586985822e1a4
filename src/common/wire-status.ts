/** herald.v1 InstanceStatus enum values to and from status names; shared by the server's and the SDK's codecs. */
import { InstanceStatus as WireStatus } from '../gen/herald/v1/model.js';
import type { InstanceStatus } from '../core/model.js';

const STATUS_TO_WIRE: Readonly<Record<InstanceStatus, WireStatus>> = {
  UP: WireStatus.INSTANCE_STATUS_UP,
  DOWN: WireStatus.INSTANCE_STATUS_DOWN,
  STARTING: WireStatus.INSTANCE_STATUS_STARTING,
  OUT_OF_SERVICE: WireStatus.INSTANCE_STATUS_OUT_OF_SERVICE,
  UNKNOWN: WireStatus.INSTANCE_STATUS_UNKNOWN,
};

const STATUS_FROM_WIRE = new Map<number, InstanceStatus>(
  Object.entries(STATUS_TO_WIRE).map(([name, n]) => [n, name as InstanceStatus]),
);

/** UNSPECIFIED for undefined (no status / no override). */
export function statusToWire(status: InstanceStatus | undefined): WireStatus {
  return status === undefined ? WireStatus.INSTANCE_STATUS_UNSPECIFIED : STATUS_TO_WIRE[status];
}

/** The status name of a wire value; undefined for UNSPECIFIED and unknown values. */
export function statusNameFromWire(value: number): InstanceStatus | undefined {
  return STATUS_FROM_WIRE.get(value);
}

/**
 * A wire status as text for the core to validate: undefined for UNSPECIFIED, the name for a known
 * value, the number for an unknown one (so the validation error can name it).
 */
export function statusFromWire(value: number): string | undefined {
  if (value === 0) return undefined;
  return STATUS_FROM_WIRE.get(value) ?? String(value);
}
