import { render, screen } from "@testing-library/react";
import { MantineProvider } from "@mantine/core";
import { ApiError } from "../api/errors";
import { ErrorState } from "./States";

describe("error state", () => {
  it("shows the API's detail and code", () => {
    render(
      <MantineProvider>
        <ErrorState error={new ApiError(409, "conflict", "alert 3 is already CLOSED")} />
      </MantineProvider>,
    );
    expect(screen.getByRole("alert")).toHaveTextContent("alert 3 is already CLOSED");
    expect(screen.getByRole("alert")).toHaveTextContent("conflict");
  });

  it("shows a forbidden state for a 403", () => {
    render(
      <MantineProvider>
        <ErrorState error={new ApiError(403, "forbidden", "tenant-admin role required")} />
      </MantineProvider>,
    );
    expect(screen.getByRole("alert")).toHaveTextContent("Not available to your account");
  });
});
