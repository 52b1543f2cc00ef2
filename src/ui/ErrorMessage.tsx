/**
 * An engine error for people: a plain sentence and what to do (explainError.ts), with the error's
 * class and message one click away under "Details". Errors without an explanation show their
 * message as it is.
 */
import { explainError } from './explainError';
import { useOnline } from './useOnline';

export interface ErrorMessageProps {
  error: { name: string; message: string };
  /** What failed, e.g. "Loading the model failed". */
  heading: string;
  /** data-testid of the class name and message spans (App's error region uses them). */
  testIds?: { name: string; message: string };
}

export function ErrorMessage({ error, heading, testIds }: ErrorMessageProps) {
  const online = useOnline();
  const plain = explainError(error, online);
  const technical = (
    <>
      <span data-testid={testIds?.name}>({error.name})</span>: <span data-testid={testIds?.message}>{error.message}</span>
    </>
  );
  if (!plain) {
    return (
      <>
        <strong>{heading}</strong> {technical}
      </>
    );
  }
  return (
    <>
      <strong data-testid="error-title">
        {heading}: {plain.title}
      </strong>{' '}
      <span data-testid="error-advice">{plain.advice}</span>
      <details className="error-details">
        <summary>Details</summary>
        {technical}
      </details>
    </>
  );
}
