import { createTheme, type CSSVariablesResolver } from "@mantine/core";

// Shade 8 for filled controls keeps white text above WCAG AA contrast.
export const theme = createTheme({
  primaryColor: "blue",
  primaryShade: 8,
  defaultRadius: "sm",
});

// Mantine's "dimmed" (gray 6) is below 4.5:1 on white; gray 7 is not.
export const cssVariablesResolver: CSSVariablesResolver = () => ({
  variables: {},
  light: { "--mantine-color-dimmed": "var(--mantine-color-gray-7)" },
  dark: {},
});
