// A part of an expansion that cannot be delivered (an address no rule accepts, an unknown
// user) stays an envelope of its own whose delivery fails for good: the sender is told
// about it, with its reason, while the rest of the expansion is delivered.

const FAILED_TARGET_PREFIX = "error:";

/** The target of an expansion's child that fails for `reason` ("5.1.1 unknown user …"). */
export function failedTarget(reason: string): string {
  return `${FAILED_TARGET_PREFIX}${reason}`;
}

/**
 * Why a child fails, when its target is one {@link failedTarget} made. (A user name
 * has no colon: no user's target starts like this.)
 */
export function failureOfTarget(target: string | undefined): string | undefined {
  return target?.startsWith(FAILED_TARGET_PREFIX)
    ? target.slice(FAILED_TARGET_PREFIX.length)
    : undefined;
}
