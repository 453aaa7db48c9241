// The error of a mailbox write or privileged request that would fail the same way again:
// the router bounces a delivery that meets one instead of retrying it.

/**
 * A request that fails a check. It would fail again: a delivery that meets one fails
 * for good (the router bounces it) instead of being retried.
 */
export class RefusedRequest extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RefusedRequest";
  }
}
