/** Every API error body is `{"error": CODE, "detail": text}` (pulse/api/errors.py). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(detail || code || `HTTP ${status}`);
    this.name = "ApiError";
  }

  get forbidden(): boolean {
    return this.status === 403;
  }
}

export async function apiErrorFrom(response: Response): Promise<ApiError> {
  let code = `http_${response.status}`;
  let detail = response.statusText || `The server answered HTTP ${response.status}.`;
  try {
    const body: unknown = await response.json();
    if (typeof body === "object" && body !== null) {
      const { error, detail: text } = body as { error?: unknown; detail?: unknown };
      if (typeof error === "string") code = error;
      if (typeof text === "string") detail = text;
      else if (text !== undefined) detail = JSON.stringify(text);
    }
  } catch {
    // not JSON (a proxy's page): keep the status text
  }
  return new ApiError(response.status, code, detail);
}
