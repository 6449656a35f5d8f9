// The golden-patient query of a product team, and what a correct answer to it looks like.

export const GOLDEN_PATIENT_QUERY =
  'query GoldenPatient($id: ID!) { patient(id: $id) { id name { family given } birthDate gender identifiers { system value } sourceRecords { source mrn observations { code { coding { system code display } } effective valueQuantity { value unit } } } } }';

export const requestBody = (id: string): string =>
  JSON.stringify({ operationName: 'GoldenPatient', query: GOLDEN_PATIENT_QUERY, variables: { id } });

export type GoldenPatientResponse = {
  data?: { patient: { id: string; sourceRecords: { source: string; observations: unknown[] | null }[] | null } | null } | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
};

export type Answer = { readonly status: number; readonly body: GoldenPatientResponse; readonly text: string };

export async function ask(url: string, id: string, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: requestBody(id),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let body: GoldenPatientResponse;
  try {
    body = JSON.parse(text) as GoldenPatientResponse;
  } catch {
    body = { errors: [{ message: `response is not JSON: ${text.slice(0, 200)}` }] };
  }
  return { status: res.status, body, text };
}

/**
 * Why an answer is not a complete golden patient (HTTP 200, no errors, observations from a
 * source of every adapter), or undefined when it is.
 */
export function incomplete(
  answer: Answer,
  adapterOfSource: Readonly<Record<string, string>>,
  adapters: readonly string[],
): string | undefined {
  if (answer.status !== 200) return `HTTP ${answer.status}: ${answer.text.slice(0, 300)}`;
  if (answer.body.errors?.length) return `GraphQL errors: ${JSON.stringify(answer.body.errors).slice(0, 500)}`;
  const patient = answer.body.data?.patient;
  if (!patient) return 'patient is null';
  const withObservations = new Set(
    (patient.sourceRecords ?? []).filter((r) => (r.observations?.length ?? 0) > 0).map((r) => adapterOfSource[r.source]),
  );
  const missing = adapters.filter((a) => !withObservations.has(a));
  return missing.length ? `no observations from ${missing.join(', ')}` : undefined;
}
