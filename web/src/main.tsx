import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import { MantineProvider } from "@mantine/core";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import "@mantine/core/styles.css";
import { App } from "./App";
import { ApiProvider } from "./api/ApiProvider";
import { ApiError } from "./api/errors";
import { AuthProvider } from "./auth/AuthProvider";
import { createUserManager } from "./auth/userManager";
import { loadRuntimeConfig } from "./config";
import { LiveProvider } from "./live/LiveProvider";
import { cssVariablesResolver, theme } from "./theme";

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      // a 4xx will not change by asking again; network trouble and 5xx may
      retry: (failures, error) => !(error instanceof ApiError && error.status < 500) && failures < 2,
    },
  },
});

const root = createRoot(document.getElementById("root") as HTMLElement);

loadRuntimeConfig().then(
  (config) => {
    const userManager = createUserManager(config);
    root.render(
      <StrictMode>
        <MantineProvider theme={theme} cssVariablesResolver={cssVariablesResolver}>
          <QueryClientProvider client={queryClient}>
            <BrowserRouter basename={import.meta.env.BASE_URL.replace(/\/$/, "")}>
              <AuthProvider userManager={userManager}>
                <ApiProvider baseUrl={config.api_base}>
                  <LiveProvider wsUrl={config.ws_url}>
                    <App />
                  </LiveProvider>
                </ApiProvider>
              </AuthProvider>
            </BrowserRouter>
          </QueryClientProvider>
        </MantineProvider>
      </StrictMode>,
    );
  },
  (error: unknown) => {
    const message = document.createElement("p");
    message.setAttribute("role", "alert");
    message.textContent = `The console could not load its configuration: ${String(error)}. Reload to try again.`;
    document.getElementById("root")?.replaceChildren(message);
  },
);
