// A record that cannot be read as an example. Thrown by the shape converters with the reason only;
// the reader adds where the record is and either throws a UsageError or, with skipBad, skips it.

export class BadRecord extends Error {
  override readonly name = "BadRecord";
}
