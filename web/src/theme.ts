import { createTheme } from "@mantine/core";

// Darker shades for "dimmed" text keep contrast above WCAG AA on white.
export const theme = createTheme({
  primaryColor: "blue",
  primaryShade: 8,
  defaultRadius: "sm",
  colors: {},
  other: {},
});
