import { UsageError } from "../errors.js";
import { type Device, DEVICES } from "../runtime/session.js";

export function parseDevice(value: string): Device {
  if (!(DEVICES as readonly string[]).includes(value)) {
    throw new UsageError(`--device ${value}: expected one of ${DEVICES.join(", ")}`);
  }
  return value as Device;
}
