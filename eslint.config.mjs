// ESLint 9 flat config, run by `npm run lint` and by `npm test` (the lint step, --max-warnings 0,
// so a warning fails too). Next's core-web-vitals set (Next, React, react-hooks with the React
// Compiler rules, import, jsx-a11y) plus Next's typescript-eslint recommended set, over every
// source folder: app, components, lib, scripts, e2e, test and the root config files.
import nextVitals from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

const config = [
  ...nextVitals,
  ...nextTs,
  {
    rules: {
      "react-hooks/rules-of-hooks": "error",
      // An effect or memo that misses a dependency shows on-call a stale view: an error, not advice.
      "react-hooks/exhaustive-deps": "error",
      // Off: it only says React Compiler skips a component that uses TanStack Virtual, and this app
      // does not run React Compiler (next.config.js has no reactCompiler).
      "react-hooks/incompatible-library": "off",
      // A leading underscore marks a parameter an interface requires but this implementation does
      // not use, or a field dropped by rest destructuring ({ raw: _raw, ...rest }).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
      "@typescript-eslint/no-unused-expressions": "error",
    },
  },
  {
    // Generated or run output, never source (node_modules and .git are ignored by default).
    ignores: [
      ".next/**",
      ".bench/**",
      "out/**",
      "test-results/**",
      "playwright-report/**",
      ".lockdeck-data/**",
      "data/**",
      "scripts/capture/**/target/**",
      "next-env.d.ts",
    ],
  },
];

export default config;
