// The assertions tests use (JSR's @std/assert is out of reach): thin names over node:assert.

import assert from "node:assert/strict";

/** Deep, strict equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
}

/** The value is truthy. */
export function assertTrue(value: unknown, message?: string): asserts value {
  assert.ok(value, message);
}

/** The text contains the fragment. */
export function assertStringIncludes(actual: string, fragment: string, message?: string): void {
  if (!actual.includes(fragment)) {
    assert.fail(
      message ?? `expected ${JSON.stringify(actual)} to include ${JSON.stringify(fragment)}`,
    );
  }
}

/** The text matches the expression. */
export function assertMatch(actual: string, expected: RegExp, message?: string): void {
  assert.match(actual, expected, message);
}

/** The function throws an error of the class whose message includes the fragment. */
export function assertThrows(
  fn: () => unknown,
  errorClass: abstract new (...args: never[]) => Error = Error,
  fragment = "",
): Error {
  try {
    fn();
  } catch (error) {
    assertErrorLike(error, errorClass, fragment);
    return error as Error;
  }
  return assert.fail("expected the function to throw");
}

/** The promise rejects with an error of the class whose message includes the fragment. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  errorClass: abstract new (...args: never[]) => Error = Error,
  fragment = "",
): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    assertErrorLike(error, errorClass, fragment);
    return error as Error;
  }
  return assert.fail("expected the promise to reject");
}

function assertErrorLike(
  error: unknown,
  errorClass: abstract new (...args: never[]) => Error,
  fragment: string,
): void {
  if (!(error instanceof errorClass)) {
    assert.fail(`expected ${errorClass.name}, got ${String(error)}`);
  }
  assertStringIncludes(error.message, fragment);
}
